using System.Net;

namespace EventGateway.Server.Security;

public enum AuthMode { Token, None }

/// <summary>How the REST API admits requests; validated once at start-up.</summary>
public sealed class ApiSecurityOptions
{
    /// <summary>Token (default): every request outside /healthz and /readyz needs a bearer token. None: anyone is an admin.</summary>
    public AuthMode AuthMode { get; set; } = AuthMode.Token;

    /// <summary><c>--insecure-no-auth</c>: allows <see cref="AuthMode.None"/> on an address other hosts can reach.</summary>
    public bool InsecureNoAuth { get; set; }

    /// <summary><c>--tokens FILE</c>: further tokens, re-read when the file changes.</summary>
    public string? TokensFile { get; set; }

    /// <summary>The address the API listens on (<c>--address</c>); on loopback the Host header is checked (DNS rebinding).</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary><c>--api-host NAME</c>: Host names accepted besides localhost, 127.0.0.1 and [::1].</summary>
    public List<string> ApiHosts { get; set; } = [];

    public bool OnLoopback => IsLoopback(ListenAddress);

    /// <summary>The Host header is checked on loopback (a browser resolving an attacker's name to 127.0.0.1) and whenever names are given.</summary>
    public bool ChecksHost => OnLoopback || ApiHosts.Count > 0;

    public static bool IsLoopback(string address)
    {
        var a = address.Trim('[', ']');
        return a.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(a, out var ip) && IPAddress.IsLoopback(ip));
    }

    public void Validate()
    {
        if (AuthMode == AuthMode.None && !OnLoopback && !InsecureNoAuth)
            throw new ArgumentException($"--auth-mode none on --address {ListenAddress} lets anyone who can reach it run commands on this host; " +
                "bind to 127.0.0.1, or add --insecure-no-auth if that is really meant");
        if (TokensFile is not null && AuthMode == AuthMode.None)
            throw new ArgumentException("--tokens has no effect with --auth-mode none");
        foreach (var h in ApiHosts)
            if (string.IsNullOrWhiteSpace(h) || h.Contains('/') || h.Contains(':') && !h.StartsWith('['))
                throw new ArgumentException($"--api-host '{h}' is not a host name (give the name without scheme or port)");
    }
}
