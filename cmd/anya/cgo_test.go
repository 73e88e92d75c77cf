//go:build cgo

package main

func cgo() bool { return true }
