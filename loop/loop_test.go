package loop

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

func TestEchoBothDrivers(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newEcho()
			s := &Server{Handler: h, Goroutines: d.goroutines}
			addr := start(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, _, err := client.Dial(ctx, "ws://"+addr+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			for _, size := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
				msg := bytes.Repeat([]byte{'a'}, size)
				if err := c.WriteMessage(ctx, ws.Binary, msg); err != nil {
					t.Fatal(err)
				}
				typ, got, err := c.ReadMessage(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if typ != ws.Binary || !bytes.Equal(got, msg) {
					t.Fatalf("echo of %d bytes: %v %d bytes", size, typ, len(got))
				}
			}
			if err := c.Close(ws.CloseNormal, "bye"); err != nil {
				t.Errorf("Close: %v", err)
			}
			select {
			case err := <-h.done:
				var ce *ws.CloseError
				if !asCloseError(err, &ce) || ce.Code != ws.CloseNormal || ce.Reason != "bye" {
					t.Errorf("OnClose: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("no OnClose")
			}
		})
	}
}
