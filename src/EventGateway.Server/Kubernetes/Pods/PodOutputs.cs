using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Execution;

namespace EventGateway.Server.Kubernetes.Pods;

/// <summary>
/// How a pod's outputs reach egw. Main's command runs under a POSIX-shell wrapper that stages the step's files (a
/// script's source, raw artifacts), runs the command, then tars every output path that exists into a shared emptyDir
/// and marks itself done; a second container ("wait", as Argo names its own) PUTs that tar to a presigned URL of the
/// S3 artifact repository; egw downloads it once the pod has completed and unpacks it into the step's root, where the
/// output collector reads parameters and artifacts exactly as for the container executor (<see cref="ContainerOutputs"/>,
/// which never writes through a link). The exit code is the kubelet's (containerStatuses), not the wrapper's word.
/// Why this and not the termination message or an annotation: a termination message holds at most 4 KiB (12 KiB per
/// pod) and an annotation needs the pod to have API rights to patch itself (Argo left annotations for the size limit
/// too); parameters and artifacts have no such bound in S3, and the presigned URL gives the pod the right to write
/// one object and nothing else (no repository credentials in the pod, no service account rights). The upload
/// container reports a failed upload in its own termination message, which becomes the node's message.
/// </summary>
public static class PodOutputs
{
    /// <summary>
    /// sh -c SCRIPT egw-wrapper ARGV...: EGW_FILE_i/_CONTENT/_MODE to stage, EGW_OUTPUTS (newline-separated paths,
    /// relative to /); EGW_RUN_DIR only for tests that run it outside a pod.
    /// </summary>
    public const string WrapperScript = """
        i=0
        while :; do
          eval "p=\${EGW_FILE_$i:-}"
          [ -n "$p" ] || break
          mkdir -p "$(dirname "$p")"
          eval "printf '%s' \"\$EGW_FILE_${i}_CONTENT\"" > "$p"
          eval "m=\${EGW_FILE_${i}_MODE:-}"
          [ -z "$m" ] || chmod "$m" "$p"
          i=$((i + 1))
        done
        unset p m i
        "$@"
        code=$?
        set -f --
        IFS='
        '
        for p in $EGW_OUTPUTS; do
          if [ -e "/$p" ] || [ -L "/$p" ]; then set -- "$@" "$p"; fi
        done
        run=${EGW_RUN_DIR:-/var/run/egw}
        if [ $# -gt 0 ]; then tar -C / -cf "$run/outputs.tar" -- "$@" || echo "egw: could not archive outputs" >&2; fi
        : > "$run/done"
        exit $code
        """;

    /// <summary>The wait container: waits for main's mark, uploads the tar if there is one; a failure is its termination message.</summary>
    public const string UploadScript = """
        run=${EGW_RUN_DIR:-/var/run/egw}
        while [ ! -e "$run/done" ]; do sleep 1; done
        if [ -e "$run/outputs.tar" ]; then
          if ! out=$(curl -fsS -X PUT -T "$run/outputs.tar" "$EGW_OUTPUTS_URL" 2>&1); then
            printf 'uploading outputs failed: %s' "$out" > "${EGW_TERMINATION_LOG:-/dev/termination-log}"
            exit 1
          fi
        fi
        """;

    /// <summary>
    /// The init container ("init", as Argo names its own): fetches the tar of the step's input artifacts from a presigned
    /// URL and unpacks it into the emptyDir main mounts them from (one subPath per artifact); a failure is its
    /// termination message.
    /// </summary>
    public const string DownloadScript = """
        dir=${EGW_INPUTS_DIR:-/var/run/egw-inputs}
        if ! out=$( { curl -fsS "$EGW_INPUTS_URL" | tar -xf - -C "$dir"; } 2>&1); then
          printf 'loading input artifacts failed: %s' "$out" > "${EGW_TERMINATION_LOG:-/dev/termination-log}"
          exit 1
        fi
        """;

    /// <summary>
    /// The tar of a step's staged input files (artifacts egw loaded from S3, HTTP or the local repository): entry
    /// <c>in{i}</c> (a file, or a directory's tree) is the i-th input, mounted at its path with subPath <c>in{i}</c>.
    /// </summary>
    public static async Task WriteInputsAsync(IReadOnlyList<StagedFile> inputs, string tarPath, CancellationToken ct)
    {
        await using var file = File.Create(tarPath);
        await using var tar = new System.Formats.Tar.TarWriter(file, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: false);
        for (var i = 0; i < inputs.Count; i++)
        {
            var source = inputs[i].HostSource!;
            if (Directory.Exists(source))
            {
                await tar.WriteEntryAsync(source, $"in{i}", ct).ConfigureAwait(false);
                foreach (var entry in Directory.EnumerateFileSystemEntries(source, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                    await tar.WriteEntryAsync(entry, $"in{i}/{Path.GetRelativePath(source, entry).Replace(Path.DirectorySeparatorChar, '/')}", ct).ConfigureAwait(false);
            }
            else
            {
                var entry = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, $"in{i}");
                await using var data = File.OpenRead(source);
                entry.DataStream = data;
                entry.Mode = inputs[i].Mode is { } mode ? (UnixFileMode)mode : (UnixFileMode)0b110_100_100;
                await tar.WriteEntryAsync(entry, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Where a step's outputs wait in the repository until egw has them: beside the artifacts, under the repository's keyPrefix.</summary>
    public static string StagingKey(string? keyPrefix, string step) =>
        $"{(string.IsNullOrEmpty(keyPrefix) ? "" : keyPrefix.TrimEnd('/') + "/")}egw-pod-outputs/{step}.tar";

    /// <summary>The uploaded tar into <paramref name="root"/>; false when the pod uploaded none (no output path existed).</summary>
    public static async Task<bool> FetchAsync(S3BucketRepository repo, string key, string dir, CancellationToken ct)
    {
        var spool = Path.Combine(dir, "outputs.tar");
        try
        {
            try { await repo.LoadAsync(key, spool, ct).ConfigureAwait(false); }
            catch (ArtifactException e) when (e.InnerException is Amazon.S3.AmazonS3Exception { StatusCode: System.Net.HttpStatusCode.NotFound, ErrorCode: not "NoSuchBucket" })
            {
                return false;
            }
            if (!File.Exists(spool)) return false; // an empty "directory" of that name: nothing uploaded
            await using (var file = File.OpenRead(spool))
            {
                try { await ContainerOutputs.ExtractAsync(file, Path.Combine(dir, "root"), "/", ct).ConfigureAwait(false); }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
                {
                    throw new IOException($"the outputs the pod uploaded ({key}) are not a readable tar: {e.Message}", e);
                }
            }
            await repo.DeleteAsync(key, ct).ConfigureAwait(false);
            return true;
        }
        finally { File.Delete(spool); }
    }
}
