using System.Text;

namespace Tosc.Serialization;

/// <summary>The MessagePack type families, as the first byte of a value announces them.</summary>
internal enum MessagePackType : byte
{
    Nil,
    Boolean,
    Integer,
    Float,
    String,
    Binary,
    Array,
    Map,
    Extension,
}

/// <summary>First-byte codes of the MessagePack formats (msgpack spec, "Formats / Overview") and their names.</summary>
internal static class MessagePackCode
{
    public const byte MaxPositiveFixInt = 0x7f;
    public const byte FixMap = 0x80;
    public const byte FixArray = 0x90;
    public const byte FixStr = 0xa0;
    public const byte Nil = 0xc0;
    public const byte NeverUsed = 0xc1;
    public const byte False = 0xc2;
    public const byte True = 0xc3;
    public const byte Bin8 = 0xc4;
    public const byte Bin16 = 0xc5;
    public const byte Bin32 = 0xc6;
    public const byte Ext8 = 0xc7;
    public const byte Ext16 = 0xc8;
    public const byte Ext32 = 0xc9;
    public const byte Float32 = 0xca;
    public const byte Float64 = 0xcb;
    public const byte UInt8Code = 0xcc;
    public const byte UInt16Code = 0xcd;
    public const byte UInt32Code = 0xce;
    public const byte UInt64Code = 0xcf;
    public const byte Int8Code = 0xd0;
    public const byte Int16Code = 0xd1;
    public const byte Int32Code = 0xd2;
    public const byte Int64Code = 0xd3;
    public const byte FixExt1 = 0xd4;
    public const byte FixExt2 = 0xd5;
    public const byte FixExt4 = 0xd6;
    public const byte FixExt8 = 0xd7;
    public const byte FixExt16 = 0xd8;
    public const byte Str8 = 0xd9;
    public const byte Str16 = 0xda;
    public const byte Str32 = 0xdb;
    public const byte Array16 = 0xdc;
    public const byte Array32 = 0xdd;
    public const byte Map16 = 0xde;
    public const byte Map32 = 0xdf;
    public const byte MinNegativeFixInt = 0xe0;

    /// <summary>UTF-8 without BOM that throws on invalid bytes (decoding) and unpaired surrogates (encoding).</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The type family of a first byte; <see langword="false"/> only for the never-used byte 0xc1.</summary>
    public static bool TryGetType(byte code, out MessagePackType type)
    {
        switch (code)
        {
            case <= MaxPositiveFixInt: type = MessagePackType.Integer; return true;
            case < FixArray: type = MessagePackType.Map; return true;
            case < FixStr: type = MessagePackType.Array; return true;
            case < Nil: type = MessagePackType.String; return true;
            case Nil: type = MessagePackType.Nil; return true;
            case NeverUsed: type = default; return false;
            case <= True: type = MessagePackType.Boolean; return true;
            case <= Bin32: type = MessagePackType.Binary; return true;
            case <= Ext32: type = MessagePackType.Extension; return true;
            case <= Float64: type = MessagePackType.Float; return true;
            case <= Int64Code: type = MessagePackType.Integer; return true;
            case <= FixExt16: type = MessagePackType.Extension; return true;
            case <= Str32: type = MessagePackType.String; return true;
            case <= Array32: type = MessagePackType.Array; return true;
            case <= Map32: type = MessagePackType.Map; return true;
            default: type = MessagePackType.Integer; return true;
        }
    }

    /// <summary>The spec's name of the format a first byte starts, e.g. "uint 16".</summary>
    public static string FormatName(byte code) => code switch
    {
        <= MaxPositiveFixInt => "positive fixint",
        < FixArray => "fixmap",
        < FixStr => "fixarray",
        < Nil => "fixstr",
        Nil => "nil",
        NeverUsed => "never used",
        False => "false",
        True => "true",
        Bin8 => "bin 8",
        Bin16 => "bin 16",
        Bin32 => "bin 32",
        Ext8 => "ext 8",
        Ext16 => "ext 16",
        Ext32 => "ext 32",
        Float32 => "float 32",
        Float64 => "float 64",
        UInt8Code => "uint 8",
        UInt16Code => "uint 16",
        UInt32Code => "uint 32",
        UInt64Code => "uint 64",
        Int8Code => "int 8",
        Int16Code => "int 16",
        Int32Code => "int 32",
        Int64Code => "int 64",
        FixExt1 => "fixext 1",
        FixExt2 => "fixext 2",
        FixExt4 => "fixext 4",
        FixExt8 => "fixext 8",
        FixExt16 => "fixext 16",
        Str8 => "str 8",
        Str16 => "str 16",
        Str32 => "str 32",
        Array16 => "array 16",
        Array32 => "array 32",
        Map16 => "map 16",
        Map32 => "map 32",
        _ => "negative fixint",
    };

    /// <summary>A type family with its article, for messages: "an integer".</summary>
    public static string TypeName(MessagePackType type) => type switch
    {
        MessagePackType.Nil => "nil",
        MessagePackType.Boolean => "a boolean",
        MessagePackType.Integer => "an integer",
        MessagePackType.Float => "a float",
        MessagePackType.String => "a string",
        MessagePackType.Binary => "binary data",
        MessagePackType.Array => "an array",
        MessagePackType.Map => "a map",
        MessagePackType.Extension => "an extension",
        _ => type.ToString(),
    };

    /// <summary>What a first byte announces, for messages: "an integer (uint 16, 0xcd)".</summary>
    public static string Describe(byte code)
    {
        string hex = "0x" + code.ToString("x2", System.Globalization.CultureInfo.InvariantCulture);
        return TryGetType(code, out MessagePackType type)
            ? TypeName(type) + " (" + FormatName(code) + ", " + hex + ")"
            : "the never-used byte " + hex;
    }
}
