module github.com/connectr/connectr/sdk/go

go 1.23
