using System.Globalization;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Github;

/// <summary>
/// The token hook registration authenticates with: the <c>apiToken</c> Secret's value (preferred when both are given,
/// as in Argo), or for <c>githubApp</c> an installation token that GitHub issues for a short-lived JWT signed with the
/// App's private key, reused until a few minutes before it expires or until the key's Secret changes.
/// </summary>
public sealed class GithubCredentials(GithubEventSource spec, ListenerContext ctx)
{
    /// <summary>GitHub refuses App JWTs living longer than 10 minutes; a minute back-dated covers clock drift, as GitHub advises.</summary>
    private static readonly TimeSpan JwtLifetime = TimeSpan.FromMinutes(9);
    private static readonly TimeSpan ClockDrift = TimeSpan.FromSeconds(60);

    /// <summary>Installation tokens live an hour; a new one is asked for this long before the old one ends.</summary>
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private (string Token, DateTimeOffset ExpiresAt, string KeyMark)? _installation;

    /// <summary>Whether hooks can be registered at all: a token or App credentials.</summary>
    public static bool Given(GithubEventSource spec) => spec.ApiToken is not null || spec.GithubApp is not null;

    /// <summary>The Secrets whose change means registering again.</summary>
    public static IEnumerable<string> SecretNames(GithubEventSource spec) =>
        new[] { spec.ApiToken?.Name, spec.WebhookSecret?.Name, spec.GithubApp?.PrivateKey?.Name }.OfType<string>();

    public async Task<string> TokenAsync(Uri baseUrl, TimeSpan timeout, CancellationToken ct)
    {
        if (spec.ApiToken is not null) return await ctx.Secrets.RequireAsync(ctx.Namespace, spec.ApiToken, "apiToken", ct).ConfigureAwait(false);
        var app = spec.GithubApp!;
        var pem = await ctx.Secrets.RequireAsync(ctx.Namespace, app.PrivateKey!, "githubApp.privateKey", ct).ConfigureAwait(false);
        var keyMark = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(pem)));
        var now = ctx.Time.GetUtcNow();
        if (_installation is { } cached && cached.KeyMark == keyMark && cached.ExpiresAt - now > RenewBefore) return cached.Token;

        var jwt = AppJwt(pem, app.AppId!.Value, now);
        var (token, expiresAt) = await new GithubHookApi(GithubHookApi.Connect(baseUrl, jwt, timeout)).InstallationTokenAsync(app.InstallationId!.Value, ct).ConfigureAwait(false);
        _installation = (token, expiresAt, keyMark);
        return token;
    }

    /// <summary>The App's JWT (RS256; iss = the App id), as GitHub defines it for authenticating as an App.</summary>
    public static string AppJwt(string pem, long appId, DateTimeOffset now)
    {
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new InvalidOperationException($"githubApp.privateKey is not an RSA private key in PEM form (as GitHub downloads it): {e.Message}");
        }
        var key = new RsaSecurityKey(rsa) { CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = appId.ToString(CultureInfo.InvariantCulture),
            IssuedAt = (now - ClockDrift).UtcDateTime,
            NotBefore = (now - ClockDrift).UtcDateTime,
            Expires = (now + JwtLifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
    }
}
