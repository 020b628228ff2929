package buildflags

import (
	"runtime/debug"
	"slices"
	"testing"
)

func TestGCFlagsSetting(t *testing.T) {
	for _, tt := range []struct {
		name     string
		settings []debug.BuildSetting
		want     string
		wantErr  bool
	}{
		{name: "plain build", settings: []debug.BuildSetting{{Key: "-compiler", Value: "gc"}, {Key: "-race", Value: "true"}}},
		{
			name:     "make test's race build",
			settings: []debug.BuildSetting{{Key: "-gcflags", Value: "all=-dwarf=false"}, {Key: "-ldflags", Value: "-w"}, {Key: "-race", Value: "true"}},
			want:     "all=-dwarf=false",
		},
		{name: "with a space", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "all=-l -dwarf=false"}}, want: "all=-l -dwarf=false"},
		{name: "quote", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "all='-N'"}}, wantErr: true},
		{name: "dollar", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "$(HOME)"}}, wantErr: true},
		{name: "backslash", settings: []debug.BuildSetting{{Key: "-gcflags", Value: `all=-N\ -l`}}, wantErr: true},
		{name: "newline", settings: []debug.BuildSetting{{Key: "-gcflags", Value: "-N\n-l"}}, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gcflagsSetting(tt.settings)
			if (err != nil) != tt.wantErr {
				t.Fatalf("gcflagsSetting() error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("gcflagsSetting() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGoBuild(t *testing.T) {
	for _, tt := range []struct {
		race    bool
		gcflags string
		want    []string
	}{
		{false, "", nil},
		{true, "", []string{"-race"}},
		{true, "all=-dwarf=false", []string{"-race", "-gcflags=all=-dwarf=false"}},
		{false, "all=-l -dwarf=false", []string{"-gcflags=all=-l -dwarf=false"}},
	} {
		if got := goBuild(tt.race, tt.gcflags); !slices.Equal(got, tt.want) {
			t.Errorf("goBuild(%v, %q) = %q, want %q", tt.race, tt.gcflags, got, tt.want)
		}
	}
}

// TestRaceMatchesThisBinary checks Race against this test binary's build
// information: the build tags and the go command agree on -race.
func TestRaceMatchesThisBinary(t *testing.T) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information")
	}
	race := slices.ContainsFunc(info.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" })
	if race != Race {
		t.Errorf("Race = %v, the build information says -race %v", Race, race)
	}
}
