namespace EventGateway.Events.Sensors.Parameters;

/// <summary>
/// A parameter's value as Argo's ResolveParamValue returns it: the text plus gjson's type name for the match
/// ("String" for literals, templates and whole-event payloads; "JSON", "Number", "True", "False", "Null" for
/// non-string matches at a key). Only a non-string type with <c>useRawData</c> is written as raw JSON.
/// </summary>
public sealed record ResolvedValue(string Text, string Type)
{
    public const string StringType = "String";
    public const string JsonType = "JSON";

    public static ResolvedValue Literal(string text) => new(text, StringType);

    public bool IsString => Type == StringType;
}
