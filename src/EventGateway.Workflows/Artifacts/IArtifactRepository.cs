namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Where artifacts are kept: the data directory (<see cref="LocalArtifactRepository"/>) or an S3 bucket
/// (<see cref="S3BucketRepository"/>). Keys are the repository's own; archiving happens before a save.
/// </summary>
public interface IArtifactRepository
{
    /// <summary>Stores the file (or, where the repository keeps trees, the directory) at <paramref name="path"/> under <paramref name="key"/>.</summary>
    Task SaveAsync(string key, string path, CancellationToken ct);

    /// <summary>Writes what is stored under <paramref name="key"/> to <paramref name="path"/>.</summary>
    Task LoadAsync(string key, string path, CancellationToken ct);

    /// <summary>Removes what is stored under <paramref name="key"/>; a key that is already gone is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken ct);
}

/// <summary>An artifact could not be saved, loaded or deleted; the message names the artifact and where it is.</summary>
public sealed class ArtifactException(string message, Exception? inner = null) : Exception(message, inner);
