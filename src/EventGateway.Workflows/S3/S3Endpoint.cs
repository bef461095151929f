using EventGateway.Model;

namespace EventGateway.Workflows.S3;

/// <summary>
/// Where the bucket is served. Argo's <c>endpoint</c> is <c>host:port</c> with <c>insecure</c>
/// choosing plain HTTP; a URL with a scheme is taken as written. The <c>s3</c> type without an
/// endpoint means AWS itself (MinIO, which has no such default, passes <c>endpointRequired</c>): <c>https://s3.&lt;region&gt;.amazonaws.com</c>.
/// </summary>
public static class S3Endpoint
{
    public const string DefaultRegion = "us-east-1";

    public static string RegionOf(S3EventSource spec) => string.IsNullOrWhiteSpace(spec.Region) ? DefaultRegion : spec.Region.Trim();

    /// <summary>True for a custom (S3-compatible) server, which needs path-style addressing.</summary>
    public static bool IsCustom(S3EventSource spec) => !string.IsNullOrWhiteSpace(spec.Endpoint);

    /// <returns>null when the endpoint is usable, else why not.</returns>
    public static string? Check(S3EventSource spec, bool endpointRequired) => TryResolve(spec, endpointRequired, out _);

    public static Uri Resolve(S3EventSource spec, bool endpointRequired) =>
        TryResolve(spec, endpointRequired, out var uri) is { } why ? throw new InvalidOperationException($"endpoint: {why}") : uri;

    private static string? TryResolve(S3EventSource spec, bool endpointRequired, out Uri uri)
    {
        uri = null!;
        var endpoint = spec.Endpoint?.Trim();
        if (string.IsNullOrEmpty(endpoint))
        {
            // MinIO has no default server; the s3 type defaults to AWS.
            if (endpointRequired) return "missing: the MinIO server's host:port, e.g. minio.example.com:9000";
            uri = new Uri($"https://s3.{RegionOf(spec)}.amazonaws.com");
            return null;
        }
        var text = endpoint.Contains("://", StringComparison.Ordinal) ? endpoint : $"{(spec.Insecure == true ? "http" : "https")}://{endpoint}";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || string.IsNullOrEmpty(parsed.Host))
            return $"'{endpoint}' is not host:port or an http(s) URL";
        if (parsed.AbsolutePath != "/" || parsed.Query.Length > 0)
            return $"'{endpoint}' has a path; give only the server (host:port), the bucket goes in bucket.name";
        uri = parsed;
        return null;
    }
}
