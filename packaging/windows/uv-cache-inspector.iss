; Inno Setup script: installs the PyInstaller folder (dist\uv-cache-inspector) for the current
; user, with a Start menu entry and an uninstaller. Build on Windows, from the repository root,
; after `uv run pyinstaller packaging\uv-cache-inspector.spec --noconfirm`:
;
;     iscc /DAppVersion=0.1.0 packaging\windows\uv-cache-inspector.iss
;
; (the version is the one in pyproject.toml: `uv run python packaging/version.py` prints it).
; Result: dist\uv-cache-inspector-<version>-setup.exe. Unverified on real Windows so far.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z packaging\windows\uv-cache-inspector.iss
#endif

#define AppName "uv Cache Inspector"
#define AppExe "uv-cache-inspector.exe"

[Setup]
; A fixed AppId keeps upgrades and the uninstaller tied to this app (never change it).
AppId={{6F1C6B0E-5A9D-4C1B-9E7A-3B2D8C4F1A60}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=uv Cache Inspector developers
AppPublisherURL=https://github.com/uvci/uv-cache-inspector
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-user by default (no administrator rights needed); the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=uv-cache-inspector-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\uv-cache-inspector.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
LicenseFile=..\..\LICENSE

[Files]
Source: "..\..\dist\uv-cache-inspector\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "See inside uv's package cache and fix it"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"

[Tasks]
Name: "addtopath"; Description: "Add uvci (the command line) to PATH"; Flags: unchecked

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\{#AppExe}"; Description: "Open {#AppName}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Current) then
    Current := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;
