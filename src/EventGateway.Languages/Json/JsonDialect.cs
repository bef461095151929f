namespace EventGateway.Languages.Json;

/// <summary>Whose escaping of JSON strings to reproduce.</summary>
internal enum JsonDialect
{
    /// <summary>jq: quotes, backslashes and control characters (DEL too) only; <c>\b</c> and <c>\f</c> short.</summary>
    Jq,

    /// <summary>Go's encoding/json as Argo's expr and sprig use it: HTML-safe (<c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>, U+2028, U+2029 as <c>\u</c> escapes), <c>\b</c> and <c>\f</c> as <c>\u0008</c> and <c>\u000c</c>, DEL raw.</summary>
    GoEncodingJson,
}
