package awskms

import (
	"context"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Page sizes: the largest each operation allows (kms-api.md §4.1, §4.8;
// ListAliases documents 1–100 although the model allows 1000, and what AWS
// does above 100 is unconfirmed, so we keep to the documented limit).
const (
	listKeysLimit    = 1000
	listAliasesLimit = 100
)

// scanRegion inventories one account's keys in one Region: it lists keys
// and aliases at the same time, and reads each key as soon as its page
// arrives, with Concurrency workers. Keys are sent as they are read once
// the aliases are known; those read before wait for them.
func (s *Session) scanRegion(ctx context.Context, a Account, region string, out *emitter) {
	client := s.KMS(a, region)

	var aliases map[string][]string
	var aliasErr error
	aliasDone := make(chan struct{})
	go func() {
		defer close(aliasDone)
		aliases, aliasErr = listAliases(ctx, client)
	}()

	entries := make(chan kmstypes.KeyListEntry, listKeysLimit)
	var listErr error
	go func() {
		defer close(entries)
		listErr = listKeys(ctx, client, entries)
	}()

	// early holds keys read before the aliases were listed.
	var mu sync.Mutex
	var early []kmskey.Key
	named := false
	listed := 0
	send := func(k kmskey.Key) {
		k.Aliases = aliases[k.KeyID]
		out.key(k)
		s.o.Progress.Keys.Add(1)
	}
	var wg sync.WaitGroup
	for range s.o.Concurrency {
		wg.Go(func() {
			for e := range entries {
				if ctx.Err() != nil {
					continue // drain: the lister stops on the cancelled context
				}
				select {
				case s.inflight <- struct{}{}:
				case <-ctx.Done():
					continue
				}
				k := s.readKey(ctx, client, a.ID, region, e)
				<-s.inflight
				if ctx.Err() != nil && k.Err != nil {
					continue // cut short by the interruption, not a fact
				}
				mu.Lock()
				listed++
				if !named {
					select {
					case <-aliasDone:
						named = true
						for _, k := range early {
							send(k)
						}
						early = nil
					default:
						early = append(early, k)
						mu.Unlock()
						continue
					}
				}
				mu.Unlock()
				send(k)
			}
		})
	}
	wg.Wait()
	<-aliasDone
	for _, k := range early {
		send(k)
	}
	if ctx.Err() != nil {
		return
	}
	out.regionScanned(region)

	if listErr != nil {
		code, msg := classify(listErr)
		out.error(ScanError{AccountID: a.ID, Region: region, Operation: "ListKeys", Code: code, Message: msg})
	}
	if aliasErr != nil && (listErr == nil || listed > 0) {
		// The keys are still classified; only their names are missing. With
		// no key listed at all, the ListKeys entry already says the Region
		// is lost and the aliases would name nothing.
		code, msg := classify(aliasErr)
		out.error(ScanError{AccountID: a.ID, Region: region, Operation: "ListAliases", Code: code, Message: msg})
	}
}

// listKeys sends every key of the Region to out, page by page. Keys of the
// pages before a failure are sent: they are described and reported.
func listKeys(ctx context.Context, client KMSAPI, out chan<- kmstypes.KeyListEntry) error {
	p := kms.NewListKeysPaginator(client, &kms.ListKeysInput{Limit: aws.Int32(listKeysLimit)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, k := range page.Keys {
			select {
			case out <- k:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// listAliases maps each target key ID to its alias names, sorted. Aliases
// without a target (predefined AWS aliases not yet used) are left out.
func listAliases(ctx context.Context, client KMSAPI) (map[string][]string, error) {
	m := map[string][]string{}
	p := kms.NewListAliasesPaginator(client, &kms.ListAliasesInput{Limit: aws.Int32(listAliasesLimit)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return m, err
		}
		for _, a := range page.Aliases {
			if a.TargetKeyId == nil || a.AliasName == nil {
				continue
			}
			id := *a.TargetKeyId
			m[id] = append(m[id], *a.AliasName)
		}
	}
	for _, names := range m {
		slices.Sort(names)
	}
	return m, nil
}

// readKey describes one key and, when its class needs it, reads its
// rotation status. A failure is kept in the key's Err with what is known.
func (s *Session) readKey(ctx context.Context, client KMSAPI, account, region string, e kmstypes.KeyListEntry) kmskey.Key {
	k := kmskey.Key{
		Source:    kmskey.SourceAWS,
		AccountID: account,
		Region:    region,
		KeyID:     aws.ToString(e.KeyId),
		ARN:       aws.ToString(e.KeyArn),
	}
	out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: e.KeyId})
	if err != nil {
		k.Err = keyError("DescribeKey", err)
		return k
	}
	fillMetadata(&k, out.KeyMetadata)
	if s.o.Tags && k.Manager == kmskey.ManagerCustomer {
		tags, err := listTags(ctx, client, e.KeyId)
		if err != nil {
			k.Err = keyError("ListResourceTags", err)
			return k
		}
		k.Tags = tags
	}
	if !needsRotationStatus(k, s.o.IncludeDisabled) {
		return k
	}
	rot, err := client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: e.KeyId})
	if err != nil {
		k.Err = keyError("GetKeyRotationStatus", err)
		return k
	}
	k.Rotation = rotation(rot)
	if s.o.RotationHistory {
		last, kind, err := RotationHistory(ctx, client, aws.ToString(e.KeyId))
		if err != nil {
			k.Err = keyError("ListKeyRotations", err)
			return k
		}
		k.Rotation.LastRotationDate, k.Rotation.LastRotationType = last, kind
	}
	return k
}

// fillMetadata copies DescribeKey's facts into the key.
func fillMetadata(k *kmskey.Key, md *kmstypes.KeyMetadata) {
	if md == nil {
		return
	}
	if v := aws.ToString(md.AWSAccountId); v != "" {
		k.AccountID = v
	}
	if v := aws.ToString(md.Arn); v != "" {
		k.ARN = v
	}
	if v := aws.ToString(md.KeyId); v != "" {
		k.KeyID = v
	}
	k.Description = aws.ToString(md.Description)
	k.Manager = string(md.KeyManager)
	k.Spec = string(md.KeySpec)
	if k.Spec == "" {
		// Emulators predating KeySpec still send the deprecated field.
		//lint:ignore SA1019 read only when KeySpec is absent
		k.Spec = string(md.CustomerMasterKeySpec)
	}
	k.Usage = string(md.KeyUsage)
	k.Origin = string(md.Origin)
	k.State = string(md.KeyState)
	k.CustomKeyStoreID = aws.ToString(md.CustomKeyStoreId)
	k.Created = aws.ToTime(md.CreationDate)
	k.MultiRegion = aws.ToBool(md.MultiRegion)
	if mr := md.MultiRegionConfiguration; mr != nil {
		k.MultiRegion = true
		k.MultiRegionType = string(mr.MultiRegionKeyType)
		if pk := mr.PrimaryKey; pk != nil {
			k.PrimaryARN = aws.ToString(pk.Arn)
			k.PrimaryRegion = aws.ToString(pk.Region)
		}
	}
}

// needsRotationStatus says whether the check needs GetKeyRotationStatus for
// the key: only for the class that can rotate automatically (customer
// managed, SYMMETRIC_DEFAULT, AWS_KMS origin) in a state the check evaluates.
// A multi-Region replica is read too: it answers its primary's shared status
// (kms-api.md §5). Other classes are classified from DescribeKey alone.
//
// AWS always sends Origin; local-kms leaves it out of seeded keys (kms-api.md
// §12 lists its other gaps). A key without one is asked too: CreateKey's
// default origin is AWS_KMS, and had the key imported material the call
// would fail with UnsupportedOperationException, an ERROR, never a guess.
func needsRotationStatus(k kmskey.Key, includeDisabled bool) bool {
	if k.Manager != kmskey.ManagerCustomer || k.Spec != kmskey.SpecSymmetricDefault ||
		(k.Origin != kmskey.OriginAWSKMS && k.Origin != "") || k.CustomKeyStoreID != "" {
		return false
	}
	return k.State == kmskey.StateEnabled || (includeDisabled && k.State == kmskey.StateDisabled)
}

// rotation converts GetKeyRotationStatus's answer.
func rotation(out *kms.GetKeyRotationStatusOutput) kmskey.Rotation {
	r := kmskey.Rotation{
		Enabled:          kmskey.BoolOf(out.KeyRotationEnabled),
		NextRotationDate: aws.ToTime(out.NextRotationDate),
		OnDemandStarted:  aws.ToTime(out.OnDemandRotationStartDate),
	}
	if out.RotationPeriodInDays != nil {
		r.PeriodDays = int(*out.RotationPeriodInDays)
	} else if out.KeyRotationEnabled {
		// AWS sends the period whenever rotation is on (kms-api.md §4.3), but
		// local-kms omits it (§12): an enabled key without a period rotates
		// at AWS's default, 365 days.
		r.PeriodDays = kmskey.DefaultRotationPeriodDays
	}
	return r
}

// listTags reads a key's tags, every page.
func listTags(ctx context.Context, client KMSAPI, keyID *string) (map[string]string, error) {
	tags := map[string]string{}
	p := kms.NewListResourceTagsPaginator(client, &kms.ListResourceTagsInput{KeyId: keyID, Limit: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.TagKey)] = aws.ToString(t.TagValue)
		}
	}
	return tags, nil
}
