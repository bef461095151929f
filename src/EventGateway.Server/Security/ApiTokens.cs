using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Security;

/// <summary>
/// The tokens the API accepts, from three sources: the data directory's admin token, the <c>--tokens</c> file and
/// labelled Secrets in the store. The file is re-read when it changes and the Secrets when the store says one changed,
/// so a removed token stops working at its next request, without a restart.
/// </summary>
public sealed partial class ApiTokens : IDisposable
{
    /// <summary>A Secret with this label set to "true" is an API token (keys: token or sha256, role, optional namespaces).</summary>
    public const string SecretLabel = "eventgateway.io/api-token";

    private readonly ApiToken _admin;
    private readonly string? _tokensFile;
    private readonly IResourceStore _store;
    private readonly ILogger<ApiTokens> _logger;
    private readonly IDisposable _watch;
    private readonly SemaphoreSlim _reload = new(1, 1);
    private readonly Lock _fileGate = new();
    private (DateTime Written, long Length)? _fileStamp;
    private IReadOnlyList<ApiToken> _fileTokens = [];
    private IReadOnlyList<ApiToken> _secretTokens = [];
    private volatile bool _secretsChanged = true;

    public ApiTokens(EventGatewayOptions options, IResourceStore store, ILogger<ApiTokens> logger)
    {
        (_store, _logger, _tokensFile) = (store, logger, options.Api.TokensFile);
        _admin = new ApiToken(TokenHash.Of(AdminTokenFile.LoadOrCreate(options.DataDir).Token), new ApiGrant("admin", ApiRole.Admin, [ApiGrant.AllNamespaces]));
        _watch = store.Watch(nameof(Secret), _ => _secretsChanged = true);
        if (_tokensFile is not null) ReloadFileIfChanged();
    }

    /// <summary>The grant of the token presented, or null when no source holds it.</summary>
    public async ValueTask<ApiGrant?> AuthenticateAsync(string presented, CancellationToken ct)
    {
        if (_tokensFile is not null) ReloadFileIfChanged();
        if (_secretsChanged) await ReloadSecretsAsync(ct);
        var digest = TokenHash.Of(presented);
        ApiGrant? found = null;
        // Every digest is compared, so the time taken does not say which source (or how many) came close.
        foreach (var t in (IEnumerable<ApiToken>)[_admin, .. _fileTokens, .. _secretTokens])
            if (CryptographicOperations.FixedTimeEquals(digest, t.Digest) && found is null) found = t.Grant;
        return found;
    }

    /// <summary>Checks the file's size and time of change (one stat per request) and re-reads it when either moved.</summary>
    private void ReloadFileIfChanged()
    {
        var info = new FileInfo(_tokensFile!);
        (DateTime, long)? stamp = info.Exists ? (info.LastWriteTimeUtc, info.Length) : null;
        if (stamp == _fileStamp && _fileStamp is not null) return;
        lock (_fileGate)
        {
            if (stamp == _fileStamp && _fileStamp is not null) return;
            _fileStamp = stamp;
            try
            {
                _fileTokens = Load(_tokensFile!);
                LogTokensFileRead(_logger, _tokensFile!, _fileTokens.Count);
            }
            catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
            {
                // Fail closed: a broken file grants nothing (the admin token still works) until it is fixed.
                _fileTokens = [];
                LogTokensFileRefused(_logger, e.Message);
            }
        }
    }

    /// <summary>Reads and checks a tokens file; for <c>egw serve</c> to refuse a bad one before it starts.</summary>
    public static IReadOnlyList<ApiToken> Load(string path) =>
        File.Exists(path) ? TokensFile.Parse(File.ReadAllText(path), path) : throw new IOException($"{path}: tokens file not found");

    private async Task ReloadSecretsAsync(CancellationToken ct)
    {
        await _reload.WaitAsync(ct);
        try
        {
            if (!_secretsChanged) return;
            _secretsChanged = false; // before the read: a change during it marks the set stale again
            var tokens = new List<ApiToken>();
            foreach (var secret in await _store.ListAsync<Secret>(null, ct))
            {
                if (secret.Metadata.Labels?.GetValueOrDefault(SecretLabel) != "true") continue;
                try { tokens.Add(FromSecret(secret)); }
                catch (FormatException e) { LogSecretRefused(_logger, e.Message); }
            }
            _secretTokens = tokens;
        }
        finally { _reload.Release(); }
    }

    /// <summary>
    /// A Secret's token acts only in the Secret's own namespace: whoever may write Secrets there cannot mint a token for
    /// more. Wider grants come from the tokens file, which only the operator writes.
    /// </summary>
    internal static ApiToken FromSecret(Secret secret)
    {
        var ns = secret.NamespaceOrDefault;
        var where = $"Secret {ns}/{secret.Name}";
        var digest = TokensFile.Digest(secret.Value("token"), secret.Value("sha256"), where);
        var role = TokensFile.Role(secret.Value("role"), $"{where}: role");
        if (secret.Value("namespaces") is { } text && TokensFile.ParseText(text, $"{where}: namespaces") is var named && named.Any(n => n != ns))
            throw new FormatException($"{where}: namespaces: a token from a Secret acts only in the Secret's namespace '{ns}', not {string.Join(", ", named)}; grant more in the --tokens file");
        return new ApiToken(digest, new ApiGrant($"secret {ns}/{secret.Name}", role, [ns]));
    }

    public void Dispose()
    {
        _watch.Dispose();
        _reload.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API tokens file {Path} read: {Count} tokens")]
    private static partial void LogTokensFileRead(ILogger logger, string path, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "API tokens file refused, its tokens are not accepted until it is fixed: {Reason}")]
    private static partial void LogTokensFileRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "API token Secret refused: {Reason}")]
    private static partial void LogSecretRefused(ILogger logger, string reason);
}
