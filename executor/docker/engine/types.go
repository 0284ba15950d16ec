package engine

import "github.com/docker/go-units"

// ContainerConfig is the part of a container's configuration ferry sets
// (the body of POST /containers/create, with HostConfig inside it).
type ContainerConfig struct {
	Image        string            `json:"Image"`
	Cmd          []string          `json:"Cmd,omitempty"`
	Env          []string          `json:"Env,omitempty"`
	WorkingDir   string            `json:"WorkingDir,omitempty"`
	User         string            `json:"User,omitempty"`
	Labels       map[string]string `json:"Labels,omitempty"`
	AttachStdout bool              `json:"AttachStdout,omitempty"`
	AttachStderr bool              `json:"AttachStderr,omitempty"`
	HostConfig   *HostConfig       `json:"HostConfig,omitempty"`
}

// HostConfig is the part of a container's host configuration ferry sets.
type HostConfig struct {
	Mounts         []Mount         `json:"Mounts,omitempty"`
	Init           *bool           `json:"Init,omitempty"`
	ShmSize        int64           `json:"ShmSize,omitempty"`
	DeviceRequests []DeviceRequest `json:"DeviceRequests,omitempty"`
	NanoCPUs       int64           `json:"NanoCpus,omitempty"`
	Memory         int64           `json:"Memory,omitempty"`
	IpcMode        string          `json:"IpcMode,omitempty"`
	NetworkMode    string          `json:"NetworkMode,omitempty"`
	CapAdd         []string        `json:"CapAdd,omitempty"`
	Ulimits        []*units.Ulimit `json:"Ulimits,omitempty"`
}

// Mount types.
const (
	MountBind   = "bind"
	MountVolume = "volume"
)

// Mount is one entry of HostConfig.Mounts.
type Mount struct {
	Type     string `json:"Type"`
	Source   string `json:"Source"`
	Target   string `json:"Target"`
	ReadOnly bool   `json:"ReadOnly,omitempty"`
}

// DeviceRequest asks a device driver for devices (GPUs: driver "nvidia",
// capability "gpu"); Count -1 means all of them.
type DeviceRequest struct {
	Driver       string     `json:"Driver"`
	Count        int        `json:"Count"`
	DeviceIDs    []string   `json:"DeviceIDs,omitempty"`
	Capabilities [][]string `json:"Capabilities"`
}

// Image is what ferry reads of GET /images/{name}/json.
type Image struct {
	ID       string   `json:"Id"`
	RepoTags []string `json:"RepoTags"`
	// Created is RFC 3339 with nanoseconds.
	Created string `json:"Created"`
	Size    int64  `json:"Size"`
	Config  *struct {
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
}

// Labels returns the image's labels (nil when it has none).
func (i Image) Labels() map[string]string {
	if i.Config == nil {
		return nil
	}
	return i.Config.Labels
}

// ImageSummary is one entry of GET /images/json.
type ImageSummary struct {
	ID       string            `json:"Id"`
	RepoTags []string          `json:"RepoTags"`
	Labels   map[string]string `json:"Labels"`
	Size     int64             `json:"Size"`
	// Created is in seconds since the epoch.
	Created int64 `json:"Created"`
}

// WaitResponse is how a waited-for container exited.
type WaitResponse struct {
	StatusCode int64 `json:"StatusCode"`
	Error      *struct {
		Message string `json:"Message"`
	} `json:"Error"`
}

// ContainerState is what ferry reads of GET /containers/{id}/json.
type ContainerState struct {
	State *struct {
		OOMKilled bool `json:"OOMKilled"`
	} `json:"State"`
}
