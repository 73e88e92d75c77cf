package ml

// QueueDepth returns how many requests wait for a worker now (0 for the zero Engine): a gauge,
// where Stats counts. A depth that stays high says the engine is saturated — more workers
// (WithWorkers), a larger batch, or fewer callers.
func (e *Engine) QueueDepth() int { return int(e.q.queued.Load()) }

// InFlight returns how many Score and ScoreBatch calls are in progress now, queued or running.
func (e *Engine) InFlight() int { return int(e.callers.Load()) }
