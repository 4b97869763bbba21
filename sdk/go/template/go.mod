module {{name}}

go 1.24

require github.com/wafer-dev/wafer/sdk/go v0.0.0

replace github.com/wafer-dev/wafer/sdk/go => "{{sdk_path}}"
