module github.com/rfc6455/ws/bench

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/rfc6455/ws v0.0.0-00010101000000-000000000000
)

replace github.com/rfc6455/ws => ../
