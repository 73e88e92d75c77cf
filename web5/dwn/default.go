package dwn

func defaultStore() (Store, error) { return NewMemoryStore(), nil }
