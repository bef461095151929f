namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Decides which artifact keys may be used. Any repository refuses a key with a ".." segment: it names
/// another place than it reads as. The local repository also refuses absolute keys, "." and empty segments
/// (a key must name one path, never one that normalises elsewhere), and keys outside the workflow's own
/// namespace: namespaces are walls. An S3 bucket's credentials decide the rest, as in Argo.
/// </summary>
public static class ArtifactKeys
{
    /// <summary>Why an S3 key may not be used, or null.</summary>
    public static string? CheckS3(string key) =>
        key.Split('/').Contains("..") ? $"key '{key}': a '..' segment is not allowed in an artifact key" : null;

    /// <summary>Why a local repository key may not be used by a workflow in <paramref name="namespace"/>, or null.</summary>
    public static string? CheckLocal(string @namespace, string key)
    {
        if (key.StartsWith('/')) return $"key '{key}': an absolute path is not an artifact key";
        if (key.Contains('\0', StringComparison.Ordinal)) return $"key '{key}': a NUL character is not allowed in an artifact key";
        var segments = key.Split('/');
        if (segments.Contains("..")) return $"key '{key}': a '..' segment is not allowed in an artifact key";
        if (segments.Any(s => s is "" or ".")) return $"key '{key}': empty and '.' segments are not allowed in an artifact key";
        if (segments.Length < 2 || segments[0] != @namespace)
            return $"key '{key}': outside namespace '{@namespace}': a workflow reads and writes only its own namespace's artifacts";
        return null;
    }
}
