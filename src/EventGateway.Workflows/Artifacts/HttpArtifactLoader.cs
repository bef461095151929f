using System.Net.Http.Headers;
using System.Text;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Fetches <c>http</c> input artifacts (Argo's <c>url</c>, <c>headers</c>, <c>auth.basicAuth</c> from the workflow's
/// namespace's Secrets) before their step starts. The body is written to the step's inputs directory, at most
/// <see cref="MaxBytes"/>, and unpacked by the artifact's archive strategy or its content, as S3 inputs are. Anything
/// but a 2xx fails the node with the URL and the status.
/// </summary>
public sealed class HttpArtifactLoader(SecretResolver secrets, ArtifactStorage storage) : IDisposable
{
    /// <summary>The largest body accepted: a larger one fails the node rather than fill the disk.</summary>
    public const long MaxBytes = 1L << 30;

    /// <summary>For the connection and headers; the body may take as long as it takes within the step's own limits.</summary>
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromMinutes(2);

    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AllowAutoRedirect = true,
        MaxAutomaticRedirections = 10,
        ConnectTimeout = TimeSpan.FromSeconds(30),
    }) { Timeout = Timeout.InfiniteTimeSpan };

    internal long Limit { get; init; } = MaxBytes;

    /// <summary>Downloads and unpacks the artifact; returns the host path to stage at its path.</summary>
    public async Task<string> LoadAsync(Workflow wf, string nodeId, Artifact input, CancellationToken ct)
    {
        var http = input.Http!;
        var url = http.Url ?? "";
        try
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new ArtifactException($"'{url}' is not an http or https URL");
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            foreach (var h in http.Headers ?? [])
                if (!request.Headers.TryAddWithoutValidation(h.Name, h.Value ?? ""))
                    throw new ArtifactException($"header '{h.Name}' cannot be sent");
            if (http.Auth?.BasicAuth is { } basic)
            {
                var ns = wf.NamespaceOrDefault;
                string user, password;
                try
                {
                    user = basic.UsernameSecret is { } u ? await secrets.RequireAsync(ns, u, "auth.basicAuth.usernameSecret", ct).ConfigureAwait(false) : "";
                    password = basic.PasswordSecret is { } p ? await secrets.RequireAsync(ns, p, "auth.basicAuth.passwordSecret", ct).ConfigureAwait(false) : "";
                }
                catch (InvalidOperationException e) { throw new ArtifactException(e.Message, e); }
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
            }

            var target = storage.InputTarget(wf, nodeId, input);
            var download = target + ".download";
            using (var headers = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                headers.CancelAfter(ResponseTimeout);
                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                    throw new ArtifactException($"GET {Redacted(uri)}: {(int)response.StatusCode} {response.ReasonPhrase}");
                if (response.Content.Headers.ContentLength is > 0 and var length && length > Limit)
                    throw new ArtifactException($"GET {Redacted(uri)}: {length} bytes exceed the limit of {Limit} bytes");
                await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await using var file = File.Create(download);
                var buffer = new byte[81920];
                long total = 0;
                for (int n; (n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0;)
                {
                    total += n;
                    if (total > Limit) throw new ArtifactException($"GET {Redacted(uri)}: the body exceeds the limit of {Limit} bytes");
                    await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                }
            }
            ArtifactArchive.Unpack(download, target, input.Archive);
            return target;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new ArtifactException($"failed to load input artifact '{input.Name}': GET {Redacted(url)}: {(e is TaskCanceledException ? $"no response within {ResponseTimeout.TotalSeconds:0}s" : e.Message)}", e);
        }
        catch (ArtifactException e)
        {
            throw new ArtifactException($"failed to load input artifact '{input.Name}': {e.Message}", e);
        }
    }

    /// <summary>A URL as messages show it: without user info, which may hold a password.</summary>
    private static string Redacted(Uri uri) => string.IsNullOrEmpty(uri.UserInfo) ? uri.ToString() : new UriBuilder(uri) { UserName = "", Password = "" }.Uri.ToString();

    private static string Redacted(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? Redacted(u) : url;

    public void Dispose() => _client.Dispose();
}
