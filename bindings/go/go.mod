module libcstorage/bindings/go

go 1.19
