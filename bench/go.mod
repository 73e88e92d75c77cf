module github.com/anya-org/anya-go/bench

go 1.26.0

require github.com/anya-org/anya-go v0.0.0

replace github.com/anya-org/anya-go => ../
