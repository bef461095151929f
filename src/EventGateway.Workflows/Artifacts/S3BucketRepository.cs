using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using EventGateway.Model;
using EventGateway.Workflows.S3;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Artifacts as objects in one S3 bucket. Every failure names the object (s3://bucket/key) and says
/// what the server answered, so a node that fails on it tells the user which bucket and key to look at.
/// </summary>
public sealed class S3BucketRepository(IAmazonS3 client, string bucket) : IArtifactRepository, IDisposable
{
    /// <summary>A client for the location: Argo's endpoint (host:port, insecure = http) or AWS itself when none is given.</summary>
    public static S3BucketRepository Open(S3ArtifactLocation location, (string Access, string Secret, string? Token)? credentials)
    {
        var spec = new S3EventSource { Endpoint = location.Endpoint, Region = location.Region, Insecure = location.Insecure };
        Uri url;
        try { url = S3Endpoint.Resolve(spec, endpointRequired: false); }
        catch (InvalidOperationException e) { throw new ArtifactException($"s3 bucket {location.Bucket}: {e.Message}"); }
        var client = S3Clients.Create(url, S3Endpoint.RegionOf(spec), S3Endpoint.IsCustom(spec), credentials, location.UseSDKCreds == true);
        return new S3BucketRepository(client, location.Bucket!);
    }

    /// <summary>A file as the object <paramref name="key"/>; a directory (an unarchived output) as one object per file under <c>key/</c>, as Argo's S3 driver stores it.</summary>
    public async Task SaveAsync(string key, string path, CancellationToken ct)
    {
        if (Directory.Exists(path))
        {
            foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                await SaveAsync($"{key.TrimEnd('/')}/{Path.GetRelativePath(path, file).Replace(Path.DirectorySeparatorChar, '/')}", file, ct).ConfigureAwait(false);
            return;
        }
        await Call(key, "save", async () =>
        {
            // S3-compatible servers store chunk-encoded bodies with their framing.
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = path, UseChunkEncoding = false }, ct).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>The object <paramref name="key"/> into the file <paramref name="path"/>; with no such object, every object under <c>key/</c> into the directory <paramref name="path"/> (Argo's S3 "directory").</summary>
    public async Task LoadAsync(string key, string path, CancellationToken ct)
    {
        GetObjectResponse response;
        try
        {
            response = await Call(key, "load", () => client.GetObjectAsync(bucket, key, ct)).ConfigureAwait(false);
        }
        catch (ArtifactException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound, ErrorCode: not "NoSuchBucket" })
        {
            if (!await LoadDirectoryAsync(key, path, ct).ConfigureAwait(false)) throw;
            return;
        }
        using (response) await WriteAsync(response, path, ct).ConfigureAwait(false);
    }

    /// <summary>Objects one unarchived directory may hold when it is loaded: more is an error, not unbounded work.</summary>
    public const int MaxDirectoryObjects = 10_000;

    private async Task<bool> LoadDirectoryAsync(string key, string path, CancellationToken ct)
    {
        var prefix = key.TrimEnd('/') + "/";
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
        var count = 0;
        do
        {
            var page = await Call(prefix, "list", () => client.ListObjectsV2Async(request, ct)).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
            {
                if (o.Key.EndsWith('/')) continue;
                if (++count > MaxDirectoryObjects) throw new ArtifactException($"s3://{bucket}/{prefix}: more than {MaxDirectoryObjects} objects");
                var relative = o.Key[prefix.Length..];
                // Keys come from the server: one that climbs out of the directory is refused, never written.
                if (relative.Split('/').Any(s => s is "" or "." or "..")) throw new ArtifactException($"s3://{bucket}/{o.Key}: not a path under {prefix}");
                using var response = await Call(o.Key, "load", () => client.GetObjectAsync(bucket, o.Key, ct)).ConfigureAwait(false);
                await WriteAsync(response, Path.Combine(path, relative), ct).ConfigureAwait(false);
            }
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
        return count > 0;
    }

    private static async Task WriteAsync(GetObjectResponse response, string path, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await using var target = File.Create(path);
        await response.ResponseStream.CopyToAsync(target, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Every object key under <paramref name="prefix"/> (the whole bucket when empty), as Argo's ListObjects: recursive,
    /// without the empty "directory" objects consoles make; a prefix with nothing under it that is no object either is
    /// an error. At most <paramref name="limit"/> keys: a larger listing is an error rather than unbounded memory.
    /// </summary>
    public async Task<List<string>> ListAsync(string prefix, int limit, CancellationToken ct)
    {
        var under = prefix.Length == 0 ? "" : prefix.TrimEnd('/') + "/";
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = under };
        while (true)
        {
            var page = await Call(under, "list", () => client.ListObjectsV2Async(request, ct)).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
            {
                if (o.Key.EndsWith('/')) continue;
                if (keys.Count >= limit) throw new ArtifactException($"s3://{bucket}/{under}: more than {limit} objects");
                keys.Add(o.Key);
            }
            if (page.IsTruncated != true) break;
            request.ContinuationToken = page.NextContinuationToken;
        }
        if (keys.Count == 0 && prefix.Length > 0)
        {
            try { await client.GetObjectMetadataAsync(bucket, prefix, ct).ConfigureAwait(false); }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound) { throw new ArtifactException($"s3://{bucket}/{prefix}: no key found of name {prefix}"); }
        }
        return keys;
    }

    /// <summary>The object, and the objects under <c>key/</c> that an unarchived directory was stored as.</summary>
    public async Task DeleteAsync(string key, CancellationToken ct)
    {
        await Call(key, "delete", () => client.DeleteObjectAsync(bucket, key, ct)).ConfigureAwait(false);
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = key.TrimEnd('/') + "/" };
        do
        {
            var page = await Call(request.Prefix, "list", () => client.ListObjectsV2Async(request, ct)).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
                await Call(o.Key, "delete", () => client.DeleteObjectAsync(bucket, o.Key, ct)).ConfigureAwait(false);
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
    }

    private async Task<T> Call<T>(string key, string what, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AmazonS3Exception e)
        {
            var reason = e.StatusCode switch
            {
                HttpStatusCode.Forbidden => $"access denied ({e.ErrorCode}): check the accessKeySecret/secretKeySecret",
                HttpStatusCode.NotFound when e.ErrorCode == "NoSuchBucket" => "the bucket does not exist",
                HttpStatusCode.NotFound => "no such key",
                _ => $"{(int)e.StatusCode} {e.ErrorCode}: {e.Message}",
            };
            throw new ArtifactException($"failed to {what} s3://{bucket}/{key}: {reason}", e);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw new ArtifactException($"failed to {what} s3://{bucket}/{key}: {e.Message}", e);
        }
    }

    /// <summary>
    /// A URL that lets whoever holds it PUT the object <paramref name="key"/> until <paramref name="expires"/>, and
    /// nothing else: what a step's pod gets instead of the repository's credentials (--executor kubernetes).
    /// </summary>
    public string PresignPut(string key, DateTime expires) => client.GetPreSignedURL(new GetPreSignedUrlRequest
    {
        BucketName = bucket,
        Key = key,
        Verb = HttpVerb.PUT,
        Expires = expires,
        Protocol = client.Config.ServiceURL?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
    });

    /// <summary>A URL that lets whoever holds it GET the object <paramref name="key"/> until <paramref name="expires"/>.</summary>
    public string PresignGet(string key, DateTime expires) => client.GetPreSignedURL(new GetPreSignedUrlRequest
    {
        BucketName = bucket,
        Key = key,
        Verb = HttpVerb.GET,
        Expires = expires,
        Protocol = client.Config.ServiceURL?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
    });

    public void Dispose() => client.Dispose();
}
