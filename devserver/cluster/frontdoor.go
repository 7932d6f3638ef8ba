package cluster

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// frontDoor is one loopback address in front of every node's frontend, as a
// Kubernetes Service or load balancer is in production: each new connection
// goes to the next node that accepts it, so clients keep working when a node
// dies (their connections to it break and they reconnect).
type frontDoor struct {
	l     net.Listener
	nodes []*Node
	next  atomic.Uint64
	wg    sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newFrontDoor(nodes []*Node) (*frontDoor, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &frontDoor{l: l, nodes: nodes, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *frontDoor) addr() string { return f.l.Addr().String() }

func (f *frontDoor) serve() {
	defer f.wg.Done()
	for {
		in, err := f.l.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.relay(in) }()
	}
}

// relay connects in to the first live frontend, starting from the next in
// turn, and copies both ways until either side closes.
func (f *frontDoor) relay(in net.Conn) {
	var out net.Conn
	start := f.next.Add(1)
	for i := range uint64(len(f.nodes)) {
		n := f.nodes[(start+i)%uint64(len(f.nodes))]
		if !n.Running() {
			continue
		}
		if c, err := net.Dial("tcp", n.Spec.Frontend()); err == nil {
			out = c
			break
		}
	}
	if out == nil {
		_ = in.Close()
		return
	}
	if !f.track(in, out) {
		return
	}
	defer f.untrack(in, out)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

func (f *frontDoor) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *frontDoor) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.conns, c)
	}
}

// close stops accepting and breaks every relayed connection.
func (f *frontDoor) close() {
	_ = f.l.Close()
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}
