package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// ansiColour matches the SGR sequences the classic builder wraps a RUN
// step's stderr in; the log is plain text.
var ansiColour = regexp.MustCompile("\x1b\\[[0-9;]*m")

// BuildError is an error the engine reported inside a build or pull stream
// (the API call itself succeeded): a failing RUN step, a missing base image.
type BuildError struct {
	// Image is the image being built or pulled.
	Image string
	// Message is the engine's error text, e.g. "The command '/bin/sh -c
	// exit 7' returned a non-zero code: 7".
	Message string
}

// Error implements error.
func (e *BuildError) Error() string {
	return fmt.Sprintf("build image %s: %s", e.Image, e.Message)
}

// message is one JSON message of a build or pull stream (the engine's
// jsonmessage.JSONMessage, reduced to what ferry reads).
type message struct {
	Stream string `json:"stream"`
	Status string `json:"status"`
	ID     string `json:"id"`
	Error  string `json:"error"`
	Detail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux json.RawMessage `json:"aux"`
}

// streamResult is what a finished stream said.
type streamResult struct {
	imageID string // from the builder's aux message, when sent
	errMsg  string // the stream's error, "" for none
	// steps are the image ids the classic builder reported after each
	// step (" ---> 3fa2c1d0e4b5"), the first being the FROM image's.
	steps []string
}

// stepLine matches the classic builder's line that names a step's image.
var stepLine = regexp.MustCompile(`^ ---> ([0-9a-f]{12,64})\s*$`)

// readStream decodes a build or pull stream until it ends, writing readable
// lines to w: build output as it is, pull statuses one per line (progress
// bars are dropped). It returns the stream's error message, if any, rather
// than an error: only a broken stream or writer is an error.
func readStream(r io.Reader, w io.Writer) (streamResult, error) {
	var res streamResult
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return res, nil
		} else if err != nil {
			return res, fmt.Errorf("decode stream: %w", err)
		}
		if err := writeMessage(w, m, &res); err != nil {
			return res, err
		}
	}
}

// writeMessage writes m's text to w and records its error or image id.
func writeMessage(w io.Writer, m message, res *streamResult) error {
	var text string
	switch {
	case m.Detail != nil && m.Detail.Message != "":
		res.errMsg = m.Detail.Message
		text = "ERROR: " + m.Detail.Message + "\n"
	case m.Error != "":
		res.errMsg = m.Error
		text = "ERROR: " + m.Error + "\n"
	case m.Stream != "":
		text = ansiColour.ReplaceAllString(m.Stream, "")
		if sm := stepLine.FindStringSubmatch(text); sm != nil {
			res.steps = append(res.steps, sm[1])
		}
	case m.Status != "" && m.ID != "":
		text = m.ID + ": " + m.Status + "\n"
	case m.Status != "":
		text = m.Status + "\n"
	case len(m.Aux) > 0:
		var aux struct{ ID string }
		if json.Unmarshal(m.Aux, &aux) == nil && strings.HasPrefix(aux.ID, "sha256:") {
			res.imageID = aux.ID
		}
	}
	if text == "" {
		return nil
	}
	if _, err := io.WriteString(w, text); err != nil {
		return fmt.Errorf("write build log: %w", err)
	}
	return nil
}
