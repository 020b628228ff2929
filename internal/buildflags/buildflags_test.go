package buildflags

import (
	"runtime/debug"
	"slices"
	"testing"
)

func TestFromSettings(t *testing.T) {
	for _, tt := range []struct {
		name     string
		settings []debug.BuildSetting
		want     []string
		wantErr  bool
	}{
		{name: "plain build", settings: []debug.BuildSetting{{Key: "-compiler", Value: "gc"}, {Key: "CGO_ENABLED", Value: "1"}}},
		{name: "race", settings: []debug.BuildSetting{{Key: "-race", Value: "true"}}, want: []string{"-race"}},
		{name: "race false", settings: []debug.BuildSetting{{Key: "-race", Value: "false"}}},
		{
			name:     "make test's race build",
			settings: []debug.BuildSetting{{Key: "-gcflags", Value: "all=-dwarf=false"}, {Key: "-ldflags", Value: "-w"}, {Key: "-race", Value: "true"}},
			want:     []string{"-race", "-gcflags=all=-dwarf=false"},
		},
		{name: "gcflags with a space", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "all=-l -dwarf=false"}}, want: []string{"-gcflags=all=-l -dwarf=false"}},
		{name: "quote", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "all='-N'"}}, wantErr: true},
		{name: "dollar", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "$(HOME)"}}, wantErr: true},
		{name: "newline", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "-N\n-l"}}, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromSettings(tt.settings)
			if (err != nil) != tt.wantErr {
				t.Fatalf("fromSettings() error = %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("fromSettings() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGoBuildMatchesThisBinary checks GoBuild against this test binary's
// own build: -race exactly when the race detector is on.
func TestGoBuildMatchesThisBinary(t *testing.T) {
	flags, err := GoBuild()
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Contains(flags, "-race"); got != raceEnabled {
		t.Errorf("GoBuild() = %q: -race %v, want %v", flags, got, raceEnabled)
	}
}
