package sim

import (
	"encoding/binary"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Message attachments. LinkedIn serves a file sent in a conversation under
// https://www.linkedin.com/dms/..., a URL naming the file's media asset (the
// id at the end of its assetUrn), to the accounts of that conversation only.
// The simulator serves /linkedin/dms/{path...}: the account's own files (those
// of its threads) by asset id in any segment of the path, with deterministic
// bytes of the size the message announced.

// dmsFile is one attachment an account may download.
type dmsFile struct {
	asset, name, mediaType string
	size                   int64
}

// accountFile finds the attachment whose asset id is one of segs among the
// messages of the account's threads, archived ones included.
func (s *Server) accountFile(name string, me int, segs []string) (dmsFile, bool) {
	want := map[string]bool{}
	for _, sg := range segs {
		if sg != "" {
			want[sg] = true
		}
	}
	peers := map[int]bool{}
	for k := 0; k < s.w.nThreads(me); k++ {
		peers[s.w.connAt(me, k)] = true
	}
	s.ov.view(name, func(a *acctState) {
		for p := range a.threads {
			peers[p] = true
		}
	})
	for p := range peers {
		for _, m := range s.messages(name, me, p) {
			for _, x := range m.Attachments {
				att, _ := x.(map[string]any)
				urn, _ := att["assetUrn"].(string)
				id := urn[strings.LastIndexByte(urn, ':')+1:]
				if id == "" || !want[id] {
					continue
				}
				f := dmsFile{asset: id}
				f.name, _ = att["name"].(string)
				f.mediaType, _ = att["mediaType"].(string)
				switch n := att["byteSize"].(type) {
				case int:
					f.size = int64(n)
				case int64:
					f.size = n
				}
				return f, true
			}
		}
	}
	return dmsFile{}, false
}

func (s *Server) hDownload(w http.ResponseWriter, r *http.Request, ss session) {
	segs := strings.Split(r.PathValue("path"), "/")
	f, ok := s.accountFile(ss.acct.Name, ss.me, segs)
	if !ok {
		notFound(w, "file")
		return
	}
	typ := f.mediaType
	if typ == "" {
		typ = "application/octet-stream"
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Length", strconv.FormatInt(f.size, 10))
	if f.name != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.name}))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	writeFileBytes(w, s.w.seed, f)
}

// writeFileBytes writes f's content: a header fitting its media type, then
// bytes that depend only on the world seed and the asset id.
func writeFileBytes(w http.ResponseWriter, seed int64, f dmsFile) {
	head := []byte(fmt.Sprintf("SIM-FILE %s %s\n", f.asset, f.name))
	if f.mediaType == "application/pdf" {
		head = append([]byte("%PDF-1.4\n% "), head...)
	}
	rg := newRNG(seed, hashString("dms"), hashString(f.asset))
	buf := make([]byte, 0, 32<<10)
	left := f.size
	for left > 0 {
		buf = buf[:0]
		if len(head) > 0 {
			buf = append(buf, head...)
			head = nil
		}
		for len(buf) < cap(buf)-8 {
			buf = binary.LittleEndian.AppendUint64(buf, rg.next())
		}
		n := min(int64(len(buf)), left)
		if _, err := w.Write(buf[:n]); err != nil {
			return
		}
		left -= n
	}
}
