using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using EventGateway.Events.EventSources.Http;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Github;

/// <summary>
/// GitHub's delivery signature: an HMAC of the raw body keyed with the hook's secret, sent as
/// <c>X-Hub-Signature-256: sha256=&lt;hex&gt;</c>. The legacy SHA-1 header is taken only when the
/// EventSource opts in with an annotation, since Argo's spec has no field for it.
/// </summary>
public static class GithubSignature
{
    public const string Sha256Header = "X-Hub-Signature-256";
    public const string Sha1Header = "X-Hub-Signature";
    public const string AllowSha1Annotation = "eventgateway.io/github-allow-sha1";

    public static bool AllowsSha1(EventSource source) =>
        source.Metadata.Annotations?.TryGetValue(AllowSha1Annotation, out var v) == true && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Refuses the request unless it carries a valid signature for the current secret. The secret is
    /// read on every request (cached by the resolver, dropped on change), so rotation needs no restart.
    /// </summary>
    public static async ValueTask VerifyAsync(HttpRequest request, ReadOnlyMemory<byte> body, ListenerContext ctx, SecretKeySelector? secretRef, bool allowSha1)
    {
        if (secretRef is null) return;
        var secret = await ctx.Secrets.ReadAsync(ctx.Namespace, secretRef, request.HttpContext.RequestAborted).ConfigureAwait(false)
            ?? throw new WebhookRefusal(StatusCodes.Status503ServiceUnavailable,
                $"webhookSecret {ctx.Namespace}/{secretRef.Name} key '{secretRef.Key}' is missing; refusing until it exists");
        var key = Encoding.UTF8.GetBytes(secret);

        var sha256 = request.Headers[Sha256Header].ToString();
        if (sha256.Length > 0)
        {
            if (!Matches(sha256, "sha256=", HMACSHA256.HashData(key, body.Span)))
                throw new WebhookRefusal(StatusCodes.Status401Unauthorized, $"{Sha256Header} does not match the body (wrong webhookSecret or altered body)");
            return;
        }
        var sha1 = request.Headers[Sha1Header].ToString();
        if (sha1.Length > 0)
        {
            if (!allowSha1)
                throw new WebhookRefusal(StatusCodes.Status401Unauthorized,
                    $"only {Sha1Header} (SHA-1) was sent; SHA-1 signatures are refused unless the EventSource has annotation {AllowSha1Annotation}: \"true\"");
            // GitHub still sends SHA-1 for old integrations; taken only on explicit opt-in above.
#pragma warning disable CA5350
            if (!Matches(sha1, "sha1=", HMACSHA1.HashData(key, body.Span)))
#pragma warning restore CA5350
                throw new WebhookRefusal(StatusCodes.Status401Unauthorized, $"{Sha1Header} does not match the body (wrong webhookSecret or altered body)");
            return;
        }
        throw new WebhookRefusal(StatusCodes.Status401Unauthorized, $"missing {Sha256Header}: deliveries must be signed with the webhookSecret");
    }

    /// <summary>The header value as GitHub would compute it, for senders and tests.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private static bool Matches(string header, string prefix, ReadOnlySpan<byte> expected)
    {
        if (!header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        var hex = header.AsSpan(prefix.Length).Trim();
        if (hex.Length != expected.Length * 2) return false;
        Span<byte> given = stackalloc byte[expected.Length];
        if (Convert.FromHexString(hex, given, out _, out var written) != System.Buffers.OperationStatus.Done || written != expected.Length) return false;
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
