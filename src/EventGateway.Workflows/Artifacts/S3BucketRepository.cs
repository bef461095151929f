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

    public async Task SaveAsync(string key, string path, CancellationToken ct)
    {
        if (Directory.Exists(path)) throw new ArtifactException($"s3://{bucket}/{key}: {path} is a directory; only a file can be stored as one object");
        await Call(key, "save", async () =>
        {
            // S3-compatible servers store chunk-encoded bodies with their framing.
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = path, UseChunkEncoding = false }, ct).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    public async Task LoadAsync(string key, string path, CancellationToken ct)
    {
        using var response = await Call(key, "load", () => client.GetObjectAsync(bucket, key, ct)).ConfigureAwait(false);
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

    public Task DeleteAsync(string key, CancellationToken ct) =>
        Call(key, "delete", () => client.DeleteObjectAsync(bucket, key, ct));

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

    public void Dispose() => client.Dispose();
}
