#!/usr/bin/env bash
# Operations as code (DEPLOY.md, section 7): the dashboard, the alert policies and the two SLOs of each
# service, applied to $PROJECT_ID. Run from the repository root after the services exist:
#   PROJECT_ID=my-project REGION=us-central1 ops/aplicar.sh [notification-channel-id ...]
# Re-running creates the dashboard and the policies again (delete the old ones first); the services
# and SLOs are created once (a 409 says they already exist).
set -euo pipefail
: "${PROJECT_ID:?set PROJECT_ID}" "${REGION:?set REGION}"
cd "$(dirname "$0")"

gcloud monitoring dashboards create --project="$PROJECT_ID" --config-from-file=tablero.json

channels=()
for channel in "$@"; do channels+=("--notification-channels=projects/$PROJECT_ID/notificationChannels/$channel"); done
for policy in alertas/*.json; do
  gcloud alpha monitoring policies create --project="$PROJECT_ID" --policy-from-file="$policy" "${channels[@]}"
done

# Service Monitoring has no gcloud command: its REST API, with your credentials.
api="https://monitoring.googleapis.com/v3/projects/$PROJECT_ID/services"
token="$(gcloud auth print-access-token)"
post() { curl -sS -X POST "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2"; echo; }
for i in 0 1; do
  service=$(jq -c ".services[$i] | del(.serviceId)" slos.json | sed "s/\"REGION\"/\"$REGION\"/")
  id=$(jq -r ".services[$i].serviceId" slos.json)
  post "$api?serviceId=$id" "$service"
  for j in 0 1; do
    objective=$(jq -c ".objectives[$j] | del(.serviceLevelObjectiveId)" slos.json)
    post "$api/$id/serviceLevelObjectives?serviceLevelObjectiveId=$(jq -r ".objectives[$j].serviceLevelObjectiveId" slos.json)" "$objective"
  done
done
