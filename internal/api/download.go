package api

import (
	"io"
	"mime"
	"net/http"
	"strconv"
)

// downloadAttachment streams a LinkedIn message attachment
// (GET /actions/linkedin-download-attachment?identity_id=&url=) from the
// platform to the client, through the identity's account and proxy.
func (s *Server) downloadAttachment(c *rctx) error {
	q := c.r.URL.Query()
	// The identity is resolved before the url is checked (by the driver):
	// another workspace's identity is a 404 whatever else is wrong.
	fileURL := q.Get("url")
	if len(fileURL) > 4096 {
		return c.badQuery("url", "must NOT have more than 4096 characters")
	}
	f, err := s.Engine.Download(c.ctx(), c.P(), q.Get("identity_id"), fileURL)
	if err != nil {
		return err
	}
	defer f.Body.Close()
	h := c.w.Header()
	typ := f.ContentType
	if typ == "" {
		typ = "application/octet-stream"
	}
	h.Set("Content-Type", typ)
	h.Set("X-Content-Type-Options", "nosniff")
	disp := map[string]string{}
	if f.Name != "" {
		disp["filename"] = f.Name
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", disp))
	if f.Size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	}
	c.w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(c.w, f.Body); err != nil {
		// The status is sent: all that is left is to cut the body short,
		// which the client sees against Content-Length.
		s.log.Warn("attachment download interrupted", "error", err.Error(), "workspace_uid", c.P().WorkspaceUID)
		panic(http.ErrAbortHandler)
	}
	return nil
}
