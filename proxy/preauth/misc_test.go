package preauth

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
)

func newClientReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func slogText(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func fmtV(v any) string      { return fmt.Sprintf("%v", v) }
func fmtPlusV(v any) string  { return fmt.Sprintf("%+v", v) }
func fmtSharpV(v any) string { return fmt.Sprintf("%#v", v) }
