package httpapi

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"an untrusted peer's header is ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"a trusted proxy names the client", "10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the nearest untrusted hop wins", "10.0.0.2:4000", []string{"192.0.2.66, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"several headers read as one list", "10.0.0.2:4000", []string{"192.0.2.66", "198.51.100.1"}, "198.51.100.1"},
		{"every hop trusted: the farthest", "10.0.0.2:4000", []string{"10.9.9.9, 10.1.2.3"}, "10.9.9.9"},
		{"a trusted proxy without a header", "10.0.0.2:4000", nil, "10.0.0.2"},
		{"a malformed hop stops the walk", "10.0.0.2:4000", []string{"198.51.100.1, junk"}, "10.0.0.2"},
		{"IPv6", "[fd00::1]:4000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4 in IPv6", "[::ffff:203.0.113.5]:4000", nil, "203.0.113.5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddress(r, trusted); got != tc.want {
				t.Errorf("clientAddress = %q, want %q", got, tc.want)
			}
			if got := clientAddress(r, nil); tc.remote == "10.0.0.2:4000" && got != "10.0.0.2" {
				t.Errorf("with no trusted proxies: %q, want the peer", got)
			}
		})
	}
}
