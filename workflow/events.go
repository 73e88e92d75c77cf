package workflow

import "time"

// Topics the engine publishes Events on, when given a bus (WithBus). Every event of one run
// carries the run ID as its ordering key (bus.WithKey), so bus.OrderedByKey keeps a run's events
// in order. Subscribe to "workflow.>" for all of them, "workflow.step.*" for step events.
const (
	TopicRunStarted      = "workflow.run.started"      // a new run was stored
	TopicRunResumed      = "workflow.run.resumed"      // an unfinished run is being continued
	TopicRunCompensating = "workflow.run.compensating" // a step failed; compensations begin
	TopicRunCompleted    = "workflow.run.completed"
	TopicRunTerminated   = "workflow.run.terminated" // ended early by a terminate_if
	TopicRunFailed       = "workflow.run.failed"

	TopicStepStarted            = "workflow.step.started" // an attempt began (Attempt says which)
	TopicStepCompleted          = "workflow.step.completed"
	TopicStepFailed             = "workflow.step.failed" // failed for good
	TopicStepSkipped            = "workflow.step.skipped"
	TopicStepCompensated        = "workflow.step.compensated"
	TopicStepCompensationFailed = "workflow.step.compensation_failed"
)

// EventSource is the bus Source of every event the engine publishes.
const EventSource = "workflow"

// Event is the payload of every workflow topic. Events are published after the transition they
// report is stored, so a subscriber never hears of a state that a crash could undo; a crash
// between storing and publishing loses the event, never the state (use Engine.Get for truth).
type Event struct {
	RunID     string
	Workflow  string
	Step      string // empty for run events
	Operation string // empty for run events
	Status    string // the run's or the step's new status
	Attempt   int    // step events: the attempt number
	Error     string // failures: why
	Time      time.Time
}
