package engine

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// attachmentsOf is the action whose results carry the attachments a
// download fetches: a download needs what it needs (a LinkedIn account of
// the workspace, of any level).
const attachmentsOf = "linkedin-extract-messages"

// Download opens a LinkedIn message attachment with the account of the
// identity identityUID, or, when it is "", with the first of the workspace's
// accounts that can see the file. The file comes through the identity's own
// egress proxy, with the account's lock held until Body is closed, as for
// any call on the account. Downloads are free and use no Smart Limit.
func (e *Engine) Download(ctx context.Context, p model.Principal, identityUID, fileURL string) (platform.File, error) {
	a, ok := catalog.Get(attachmentsOf)
	if !ok {
		return platform.File{}, apperr.Internal(errNoCandidate)
	}
	drv, err := e.driver(a)
	if err != nil {
		return platform.File{}, err
	}
	dl, ok := drv.(platform.Downloader)
	if !ok {
		return platform.File{}, apperr.Config(424, "INTEGRATION_ERROR", "the LinkedIn driver cannot download files")
	}
	mode, uids := ModeDirect, []string{identityUID}
	if identityUID == "" {
		mode, uids = ModeAuto, nil
	}
	cands, err := e.Candidates(ctx, p, a, mode, uids)
	if apperr.Is(err, "NO_VALID_ACCOUNT_CONFIGURED") {
		return platform.File{}, apperr.NoValidAccount("no identity with a valid linkedin integration can download message attachments")
	}
	if err != nil {
		return platform.File{}, err
	}
	wait := e.LockWait
	if wait == 0 {
		wait = 10 * time.Second
	}
	var lastErr error
	for _, acc := range cands {
		_, release, ok := e.locks.waitAny(ctx, []int64{acc.Integration.ID}, wait)
		if !ok {
			lastErr = errBusy
			continue
		}
		f, err := e.downloadWith(ctx, dl, acc.Identity, acc.Integration, fileURL)
		if err == nil {
			f.Body = &releasingBody{ReadCloser: f.Body, release: release}
			return f, nil
		}
		release()
		lastErr = err
		// Another account of the workspace may be in the conversation; a
		// malformed URL or a refusal of the platform's own is final.
		if ae, ok := apperr.As(err); mode == ModeAuto && ok && (ae.Label == platform.Label404 || ae.Label == platform.Label403 ||
			platform.IsSessionExpired(err)) {
			continue
		}
		return platform.File{}, err
	}
	return platform.File{}, lastErr
}

func (e *Engine) downloadWith(ctx context.Context, dl platform.Downloader, id model.Identity, g model.Integration, fileURL string) (platform.File, error) {
	g = e.current(g)
	cred, err := e.credentials(ctx, g, "")
	if err != nil {
		return platform.File{}, err
	}
	dctx, hc, err := e.egress(ctx, &id)
	if err != nil {
		return platform.File{}, err
	}
	dctx, session := withSession(dctx)
	f, err := dl.Download(dctx, hc, cred, fileURL)
	g = e.keepSession(ctx, g, cred.Cookies, session)
	if err != nil && platform.IsSessionExpired(err) {
		e.markInvalid(context.WithoutCancel(ctx), g, "NOT_CONNECTED")
	}
	return f, err
}

// releasingBody frees the account's lock when the file has been read.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
