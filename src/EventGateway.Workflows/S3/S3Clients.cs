using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.S3;

/// <summary>
/// The S3 client of one event, rebuilt only when its credentials change, so a rotated Secret takes
/// effect on the next poll without a restart.
/// </summary>
public sealed class S3Clients(S3EventSource spec, bool endpointRequired) : IDisposable
{
    private readonly Uri _serviceUrl = S3Endpoint.Resolve(spec, endpointRequired);
    private (string Access, string Secret, string? Token)? _credentials;
    private AmazonS3Client? _client;

    public Uri ServiceUrl => _serviceUrl;

    public async Task<IAmazonS3> GetAsync(SecretResolver secrets, string @namespace, CancellationToken ct)
    {
        (string, string, string?)? credentials = null;
        if (spec.AccessKey is not null && spec.SecretKey is not null)
            credentials = (await secrets.RequireAsync(@namespace, spec.AccessKey, "accessKey", ct).ConfigureAwait(false),
                await secrets.RequireAsync(@namespace, spec.SecretKey, "secretKey", ct).ConfigureAwait(false),
                spec.SessionToken is null ? null : await secrets.RequireAsync(@namespace, spec.SessionToken, "sessionToken", ct).ConfigureAwait(false));
        if (_client is not null && Nullable.Equals(_credentials, credentials)) return _client;
        _client?.Dispose();
        _client = Create(_serviceUrl, S3Endpoint.RegionOf(spec), S3Endpoint.IsCustom(spec), credentials, spec.UseSDKCreds == true);
        _credentials = credentials;
        return _client;
    }

    /// <summary>
    /// A client for AWS or an S3-compatible server. The latter need path-style addressing, and
    /// checksums only where required: the SDK's default trailing checksums are not understood by
    /// every server.
    /// </summary>
    public static AmazonS3Client Create(Uri serviceUrl, string region, bool custom, (string Access, string Secret, string? Token)? credentials, bool sdkCredentials)
    {
        var config = new AmazonS3Config
        {
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            // Bounded: a poll that hangs would hold up every later poll of this event.
            Timeout = TimeSpan.FromSeconds(30),
            MaxErrorRetry = 2,
        };
        if (custom)
        {
            config.ServiceURL = serviceUrl.ToString();
            config.ForcePathStyle = true;
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        return credentials switch
        {
            { Token: { } token } c => new AmazonS3Client(new SessionAWSCredentials(c.Access, c.Secret, token), config),
            { } c => new AmazonS3Client(new BasicAWSCredentials(c.Access, c.Secret), config),
            null when sdkCredentials => new AmazonS3Client(config),
            null => new AmazonS3Client(new AnonymousAWSCredentials(), config),
        };
    }

    public void Dispose() => _client?.Dispose();
}
