using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace EventGateway.Server.Ui;

/// <summary>One browser's login: the token it presented (kept here, never sent back) and its CSRF secret.</summary>
public sealed record UiSession(string Token, string Csrf, DateTimeOffset Expires)
{
    /// <summary>Constant-time: the header is compared byte by byte whatever it holds.</summary>
    public bool CsrfMatches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(Csrf));
}

/// <summary>
/// Browser sessions of the web UI. A browser cannot send a bearer token when it loads a page or a script, so POST /login
/// trades the pasted token for a random session id in an HttpOnly, SameSite=Strict cookie (Secure over TLS): page
/// scripts never see the token, so an injected script cannot carry it away, and a cross-site page cannot make the
/// browser send the cookie. The session keeps the token itself, not its grant: every request authenticates it again
/// (<see cref="Security.ApiGuard"/>), so a revoked token ends its sessions at once. State-changing requests made with
/// the cookie also need the session's CSRF secret in <see cref="CsrfHeader"/> (a custom header a cross-site form cannot
/// send). Sessions live in memory: a restart logs everyone out, which is the safe direction.
/// </summary>
public sealed class UiSessions(TimeProvider time)
{
    public const string Cookie = "egw_session";
    public const string CsrfHeader = "X-EGW-CSRF";

    /// <summary>A working day; after it the browser logs in again.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    /// <summary>Bounded: logins beyond this push out the oldest sessions, so a login loop cannot fill memory.</summary>
    public const int MaxSessions = 1000;

    // Keyed by the id's digest: the id itself is not kept, and a lookup's timing says nothing about a live id.
    private readonly ConcurrentDictionary<string, UiSession> _sessions = new(StringComparer.Ordinal);

    public int Count => _sessions.Count;

    /// <summary>A new session for a token already authenticated; returns the cookie value.</summary>
    public string Create(string token)
    {
        var now = time.GetUtcNow();
        if (_sessions.Count >= MaxSessions) Prune(now);
        var id = Random();
        _sessions[Key(id)] = new UiSession(token, Random(), now + Lifetime);
        return id;
    }

    /// <summary>The live session the request's cookie names, or null (no cookie, unknown, or expired).</summary>
    public UiSession? Find(HttpRequest req)
    {
        if (!req.Cookies.TryGetValue(Cookie, out var id) || string.IsNullOrEmpty(id) || id.Length > 100) return null;
        var key = Key(id);
        if (!_sessions.TryGetValue(key, out var s)) return null;
        if (s.Expires > time.GetUtcNow()) return s;
        _sessions.TryRemove(key, out _);
        return null;
    }

    public void Remove(HttpRequest req)
    {
        if (req.Cookies.TryGetValue(Cookie, out var id) && !string.IsNullOrEmpty(id)) _sessions.TryRemove(Key(id), out _);
    }

    /// <summary>The cookie as the browser must keep it: script cannot read it, other sites cannot send it.</summary>
    public static CookieOptions CookieOptions(HttpRequest req, TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = req.IsHttps,
        Path = "/",
        MaxAge = maxAge,
        IsEssential = true,
    };

    private void Prune(DateTimeOffset now)
    {
        foreach (var (k, s) in _sessions)
            if (s.Expires <= now) _sessions.TryRemove(k, out _);
        foreach (var (k, _) in _sessions.OrderBy(kv => kv.Value.Expires).Take(Math.Max(0, _sessions.Count - MaxSessions + 1)))
            _sessions.TryRemove(k, out _);
    }

    private static string Random() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Key(string id) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
}
