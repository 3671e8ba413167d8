<?php
// The seed's PHP sample (shared/seed/syncLead.md), with its CHANGE ME values from the command line.
// Usage: php sync_lead.php ENDPOINT USER_ID SECRET_KEY EMAIL; prints the result as JSON.
$marketoSoapEndPoint = $argv[1];
$marketoUserId = $argv[2];
$marketoSecretKey = $argv[3];
$marketoNameSpace = "http://www.marketo.com/mktows/";

$dtzObj = new DateTimeZone("America/Los_Angeles");
$dtObj = new DateTime('now', $dtzObj);
$timeStamp = $dtObj->format(DATE_W3C);
$encryptString = $timeStamp . $marketoUserId;
$signature = hash_hmac('sha1', $encryptString, $marketoSecretKey);

$attrs = new stdClass();
$attrs->mktowsUserId = $marketoUserId;
$attrs->requestSignature = $signature;
$attrs->requestTimestamp = $timeStamp;
$authHdr = new SoapHeader($marketoNameSpace, 'AuthenticationHeader', $attrs);
$options = array("connection_timeout" => 20, "location" => $marketoSoapEndPoint, "trace" => true,
                 "cache_wsdl" => WSDL_CACHE_NONE);

$leadKey = new stdClass();
$leadKey->Email = $argv[4];
$attr1 = new stdClass();
$attr1->attrName = "FirstName";
$attr1->attrValue = "George";
$attr2 = new stdClass();
$attr2->attrName = "LastName";
$attr2->attrValue = "of the Jungle";
$attrList = new stdClass();
$attrList->attribute = array($attr1, $attr2);
$leadKey->leadAttributeList = $attrList;

$leadRecord = new stdClass();
$leadRecord->leadRecord = $leadKey;
$leadRecord->returnLead = false;
$params = array("paramsSyncLead" => $leadRecord);

$soapClient = new SoapClient($marketoSoapEndPoint . "?WSDL", $options);
try {
    $result = $soapClient->__soapCall('syncLead', $params, $options, $authHdr);
    echo json_encode(array("result" => $result)), "\n";
} catch (SoapFault $fault) {
    echo json_encode(array("fault" => $fault->faultstring, "detail" => $fault->detail)), "\n";
}
