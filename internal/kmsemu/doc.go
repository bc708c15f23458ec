// Package kmsemu emulates the AWS APIs kmsrotor uses — KMS, STS
// (GetCallerIdentity, AssumeRole), Organizations (ListAccounts and the
// organization's shape) and EC2 DescribeRegions — as one http.Handler that
// the real AWS SDKs and the AWS CLI talk to unchanged over HTTP. Its
// fidelity is checked against the reference (kms-api.md, cited per test)
// and, for the operations it shares, against local-kms.
//
// It imports no other package of kmsrotor, so that it could be a module of
// its own: it keeps its own copy of the AWS facts it needs (Regions and
// partitions in ec2.go, key specs in kms_spec.go, rotation periods in
// kms.go), and internal/archtest checks that they agree with
// internal/kmskey's (facts.go exports them for that).
//
// The files, by layer:
//
//   - The world: estate.go (Estate, the accounts, credentials, roles and
//     keys a test describes), estate_load.go (LoadEstate and its checks),
//     demo.go and demo.yaml (the demo estate), generate.go (Generate, large
//     estates for benchmarks), clock.go (Clock, emulated time), persist.go
//     (the state file).
//   - The wire frame, shared by every service: server.go (Options, Server,
//     Start and Running; routing by protocol: awsJson X-Amz-Target or
//     Query Action and Version), sigv4.go (SigV4 verification as AWS does
//     it), call.go (an authenticated request), quotas.go (AWS's request
//     quotas per account, Region and operation), faults.go (injected
//     throttles, 5xx, resets and hangs), deny.go (DenyRule: AccessDenied as
//     an IAM policy would answer), admin.go (the /_kmsemu/ admin API: clock,
//     request log).
//   - The services: kms*.go (KMS: kms.go the service and its dispatch
//     table, kms_ops.go the operations, kms_rotation.go automatic and
//     on-demand rotation, kms_import.go imported key material, kms_store.go
//     the keys, kms_load.go an estate's keys, kms_paging.go, kms_json.go and
//     kms_errors.go the awsJson1.1 shapes and errors, kms_spec.go the key
//     specs), sts.go, organizations.go and ec2.go (DescribeRegions).
//
// A test starts a Server with Start (or serves New's handler with
// httptest), points an SDK client's BaseEndpoint at it and signs with the
// access key "test" and secret "test" (DefaultAccessKeyID,
// DefaultSecretAccessKey) or with an estate's credentials. The kmsrotor
// emulator command is a thin wrapper around Start.
package kmsemu
