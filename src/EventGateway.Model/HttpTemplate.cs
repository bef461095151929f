namespace EventGateway.Model;

/// <summary>Argo's <c>http</c> template: one request made by the controller itself, no step process.</summary>
public sealed class HttpTemplate
{
    public string? Url { get; set; }
    public string? Method { get; set; }
    public List<HttpHeader>? Headers { get; set; }
    public string? Body { get; set; }
    public HttpBodySource? BodyFrom { get; set; }
    public long? TimeoutSeconds { get; set; }
    public bool? InsecureSkipVerify { get; set; }
    public string? SuccessCondition { get; set; }
}

public sealed class HttpHeader
{
    public string Name { get; set; } = "";
    public string? Value { get; set; }
    public HttpHeaderSource? ValueFrom { get; set; }
}

public sealed class HttpHeaderSource
{
    public KeySelector? SecretKeyRef { get; set; }
}

public sealed class HttpBodySource
{
    /// <summary>Base64, as Kubernetes writes []byte fields.</summary>
    public string? Bytes { get; set; }
}
