package docker

import "github.com/ferry-ml/ferry/executor/docker/imagespec"

// Spec describes a docker environment's image (see package imagespec).
type Spec = imagespec.Spec

// Names and labels of the images ferry builds (see package imagespec).
const (
	ImageRepo   = imagespec.ImageRepo
	LabelKey    = imagespec.LabelKey
	CondaPrefix = imagespec.CondaPrefix
)

// Key is the cache key of s (imagespec.Key).
func Key(s Spec) string { return imagespec.Key(s) }

// ImageName is the tag of the derived image for key (imagespec.ImageName).
func ImageName(key string) string { return imagespec.ImageName(key) }
