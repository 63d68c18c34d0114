package model

import "time"

// Schedule statuses. A one-shot schedule goes COMPLETED after it fires.
const (
	ScheduleActive    = "ACTIVE"
	SchedulePaused    = "PAUSED"
	ScheduleCancelled = "CANCELLED"
	ScheduleCompleted = "COMPLETED"
)

// Schedule is a planned async run: cron and/or a start time, in a zone.
type Schedule struct {
	ID           int64
	UID          string
	WorkspaceID  int64
	WorkspaceUID string
	MemberUID    string
	Name         string
	ActionName   string
	Status       string
	Cron         string // "" for a one-shot
	Timezone     string
	ScheduleAt   *time.Time
	// NextExecutionAt is nil unless the schedule is ACTIVE.
	NextExecutionAt *time.Time
	// LastExecutedAt is the firing time of the last run created (the
	// nominal cron time, not the instant the poller got to it).
	LastExecutedAt *time.Time
	LastRunUID     string
	// Request is the async body each firing submits, as JSON (see the
	// schedules package); callback headers are sealed apart.
	Request            string
	CallbackHeadersKID string
	CallbackHeaders    []byte
	CreatedAt          time.Time
	UpdatedAt          time.Time
}
