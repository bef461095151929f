using EventGateway.Model;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// The embedded artifact repository: files and directories kept as they are (no archive) under the data
/// directory, keyed {namespace}/{workflow}/{node}/{artifact}.
/// </summary>
public sealed class LocalArtifactRepository(string dataDir) : IArtifactRepository
{
    private readonly string _root = Path.Combine(dataDir, "artifacts");

    /// <summary>Copies a step's output (file or directory) into the repository.</summary>
    public LocalArtifact Save(string @namespace, string workflow, string nodeId, string name, string hostPath)
    {
        var key = $"{@namespace}/{workflow}/{nodeId}/{name}";
        if (ArtifactKeys.CheckLocal(@namespace, key) is { } why) throw new ArtifactException(why);
        Store(key, hostPath);
        return new LocalArtifact { Key = key };
    }

    /// <summary>Where a local artifact is, for a workflow in <paramref name="namespace"/>; a key it may not use is an <see cref="ArtifactException"/>.</summary>
    public string PathOf(string @namespace, LocalArtifact artifact) =>
        ArtifactKeys.CheckLocal(@namespace, artifact.Key) is { } why ? throw new ArtifactException(why) : PathOf(artifact.Key);

    /// <summary>Where a step's downloaded input artifacts are unpacked before they are staged; dropped with the workflow.</summary>
    public string InputsDir(string @namespace, string workflow, string nodeId) => PathOf($"{@namespace}/{workflow}/.inputs/{nodeId}");

    public void ForgetInputs(string @namespace, string workflow)
    {
        var dir = Path.Combine(_root, @namespace, workflow, ".inputs");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    public void Forget(string @namespace, string workflow)
    {
        var dir = Path.Combine(_root, @namespace, workflow);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    public Task SaveAsync(string key, string path, CancellationToken ct)
    {
        Store(key, path);
        return Task.CompletedTask;
    }

    public Task LoadAsync(string key, string path, CancellationToken ct)
    {
        var source = PathOf(key);
        if (!File.Exists(source) && !Directory.Exists(source)) throw new ArtifactException($"artifact {key} is not in the local repository");
        LocalProcessExecutor.Copy(source, path);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        var target = PathOf(key);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        else if (File.Exists(target)) File.Delete(target);
        return Task.CompletedTask;
    }

    private void Store(string key, string hostPath)
    {
        var target = PathOf(key);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        LocalProcessExecutor.Copy(hostPath, target);
    }

    private string PathOf(string key)
    {
        var full = Path.GetFullPath(Path.Combine(_root, key));
        if (!full.StartsWith(Path.GetFullPath(_root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArtifactException($"key '{key}': points outside the repository");
        return full;
    }
}
