using System.Security.Cryptography;
using System.Text;

namespace EventGateway.Server.Security;

/// <summary>
/// Tokens are kept only as SHA-256 digests: they are 256-bit random values, so a plain digest is as strong as a slow
/// password hash and lets a check be one hash plus constant-time compares.
/// </summary>
public static class TokenHash
{
    public const int MinTokenLength = 32;

    public static byte[] Of(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static string Hex(string token) => Convert.ToHexStringLower(Of(token));

    /// <summary>Parses a 64-digit hex digest; null when it is not one.</summary>
    public static byte[]? ParseHex(string? hex)
    {
        if (hex is not { Length: 64 }) return null;
        try { return Convert.FromHexString(hex); }
        catch (FormatException) { return null; }
    }

    /// <summary>A new random token: "egw_" and 32 random bytes in base64url.</summary>
    public static string NewToken() =>
        "egw_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
