module example

go 1.19

require libcstorage/bindings/go v0.0.0

replace libcstorage/bindings/go => ../../bindings/go
