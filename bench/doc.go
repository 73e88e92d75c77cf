// Package bench holds side-by-side benchmarks of the SDK against anchor libraries. It is a
// separate module so that the anchors never enter the SDK's go.mod. See README.md for the
// command and the latest table.
package bench
