using EventGateway.Execution;
using EventGateway.Model;

namespace EventGateway.Artifacts;

/// <summary>
/// The embedded artifact repository: files and directories kept under the data directory, keyed
/// {namespace}/{workflow}/{node}/{artifact}. An S3 repository implements the same two calls.
/// </summary>
public sealed class LocalArtifactRepository(string dataDir)
{
    private readonly string _root = Path.Combine(dataDir, "artifacts");

    /// <summary>Copies a step's output (file or directory) into the repository.</summary>
    public LocalArtifact Save(string @namespace, string workflow, string nodeId, string name, string hostPath)
    {
        var key = $"{@namespace}/{workflow}/{nodeId}/{name}";
        var target = Path.Combine(_root, key);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        LocalProcessExecutor.Copy(hostPath, target);
        return new LocalArtifact { Key = key };
    }

    public string PathOf(LocalArtifact artifact)
    {
        var full = Path.GetFullPath(Path.Combine(_root, artifact.Key));
        if (!full.StartsWith(Path.GetFullPath(_root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidOperationException($"artifact key '{artifact.Key}' points outside the repository");
        return full;
    }

    public void Forget(string @namespace, string workflow)
    {
        var dir = Path.Combine(_root, @namespace, workflow);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
