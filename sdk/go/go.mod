module github.com/wafer-dev/wafer/sdk/go

go 1.24
