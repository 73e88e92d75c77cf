package stream_test

const killChildEnv = "ANYA_STREAM_KILL_CHILD"

func killChild() int { return 0 }
