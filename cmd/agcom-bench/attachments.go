package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// attachmentResult is what the attachment scenario measured: MB/s of
// uploads and of downloads by clients side by side, against one plain
// file copy (read, write, fsync) on the disk the database is on.
type attachmentResult struct {
	clients        int
	fileBytes      int64
	copyMBps       float64
	uploadMBps     float64
	downloadMBps   float64
	uploadErrors   int
	downloadErrors int
	firstError     string
}

// attachmentThroughput uploads one file of size bytes per client, all at
// once, then downloads them all at once; dir is on the database's disk.
func attachmentThroughput(ctx context.Context, api string, tokens []string, clients int, size int64, dir string) (attachmentResult, error) {
	clients = min(clients, len(tokens))
	res := attachmentResult{clients: clients, fileBytes: size}
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(data)
	var err error
	if res.copyMBps, err = plainCopyMBps(dir, data); err != nil {
		return res, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var (
		mu  sync.Mutex
		ids = make([]string, clients)
		wg  sync.WaitGroup
	)
	fail := func(counter *int, err error) {
		mu.Lock()
		defer mu.Unlock()
		*counter++
		if res.firstError == "" {
			res.firstError = err.Error()
		}
	}
	start := time.Now()
	for i := range clients {
		wg.Go(func() {
			id, err := upload(ctx, client, api, tokens[i], data)
			if err != nil {
				fail(&res.uploadErrors, err)
				return
			}
			ids[i] = id
		})
	}
	wg.Wait()
	res.uploadMBps = mbps(int64(clients-res.uploadErrors)*size, time.Since(start))
	start = time.Now()
	for i, id := range ids {
		if id == "" {
			continue
		}
		wg.Go(func() {
			if err := download(ctx, client, api, tokens[i], id, size); err != nil {
				fail(&res.downloadErrors, err)
			}
		})
	}
	wg.Wait()
	res.downloadMBps = mbps(int64(clients-res.uploadErrors-res.downloadErrors)*size, time.Since(start))
	if res.uploadErrors+res.downloadErrors > 0 {
		return res, fmt.Errorf("attachments: %d upload and %d download errors (first: %s)", res.uploadErrors, res.downloadErrors, res.firstError)
	}
	return res, nil
}

// plainCopyMBps copies a file of data to another on dir's disk, as an
// upload stores one: read, write, fsync.
func plainCopyMBps(dir string, data []byte) (float64, error) {
	src, dst := filepath.Join(dir, "bench-copy-src"), filepath.Join(dir, "bench-copy-dst")
	defer os.Remove(src)
	defer os.Remove(dst)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		return 0, err
	}
	start := time.Now()
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return 0, err
	}
	if err := out.Sync(); err != nil {
		return 0, err
	}
	return mbps(int64(len(data)), time.Since(start)), nil
}

func mbps(bytes int64, d time.Duration) float64 {
	return float64(bytes) / (1 << 20) / d.Seconds()
}

// upload posts data as a multipart file, streamed, and returns its id.
func upload(ctx context.Context, client *http.Client, api, token string, data []byte) (string, error) {
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		part, err := w.CreateFormFile("file", "bench.bin")
		if err == nil {
			_, err = part.Write(data)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/attachments", pr)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("upload: status %d: %s", resp.StatusCode, b)
	}
	var a struct {
		ID string `json:"attachment_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&a)
	return a.ID, err
}

// download reads the attachment id to the end and checks its length.
func download(ctx context.Context, client *http.Client, api, token, id string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/attachments/"+id, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK || n != size:
		return fmt.Errorf("download: status %d, %d bytes of %d", resp.StatusCode, n, size)
	}
	return nil
}
