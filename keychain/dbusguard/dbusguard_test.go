package dbusguard

import "testing"

func TestAddress(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		bus     bool
		want    string
		wantSet bool
	}{
		{"headless", nil, false, Disabled, true},
		{"empty variable", map[string]string{"DBUS_SESSION_BUS_ADDRESS": ""}, false, Disabled, true},
		{"address set", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}, false, "", false},
		{"per-user bus socket", nil, true, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			var asked string
			exists := func(p string) bool { asked = p; return tt.bus }
			got, set := Address(getenv, exists, 1000)
			if got != tt.want || set != tt.wantSet {
				t.Errorf("Address = %q, %v; want %q, %v", got, set, tt.want, tt.wantSet)
			}
			if !tt.wantSet && tt.env == nil && asked != "/run/user/1000/bus" {
				t.Errorf("looked for the bus at %q", asked)
			}
		})
	}
}
