; Inno Setup 6 script for FaceDesk on Windows (x64).
;
; Build the bundle first, on Windows, from the repository root:
;     .venv\Scripts\pyinstaller packaging\facedesk.spec --noconfirm --distpath dist --workpath build
; then compile this script:
;     "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" packaging\windows\facedesk.iss
; The installer lands in dist\installer\. Sign facedesk.exe and the installer in release CI.
;
; AppVersion and AppNumericVersion are stamped from pyproject.toml by packaging/version.py.
; AppId must never change: Windows uses it to find an installed FaceDesk to upgrade.

#define AppName "FaceDesk"
#define AppVersion "0.1.0"
#define AppNumericVersion "0.1.0"
#define AppPublisher "FaceDesk"
#define AppExeName "facedesk.exe"
#define Root "..\.."

[Setup]
AppId={{DCDBC0CB-A811-4B20-8951-B3D9E01B0D7F}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
VersionInfoVersion={#AppNumericVersion}
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} installer
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-user install by default (no administrator needed); IT can still install for all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; PySide6 6.8+ needs Windows 10 1809 or newer.
MinVersion=10.0.17763
OutputDir={#Root}\dist\installer
OutputBaseFilename=FaceDesk-{#AppVersion}-setup-x64
SetupIconFile={#Root}\resources\icons\facedesk.ico
UninstallDisplayIcon={app}\{#AppExeName}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole PyInstaller onedir bundle. Credentials live in Windows Credential Manager and
; settings/data in %APPDATA%/%LOCALAPPDATA%, so nothing of the operator's is in {app}.
Source: "{#Root}\dist\facedesk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExeName}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExeName}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExeName}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what FaceDesk itself may leave in its program folder; the operator's settings, session
; registry, audit trail and logs are kept (they are audit evidence).
Type: filesandordirs; Name: "{app}\__pycache__"
